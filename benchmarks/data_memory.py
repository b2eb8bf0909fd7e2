"""Data at scale: a generated CSV registers, profiles, validates and is compared within 2 GB RSS.

Workload: one CSV of ``FALAJ_BENCH_CSV_MB`` MiB (default 2048; ``--mb N`` on the command line)
with 6 numeric, 3 text and 1 timestamp column, generated once in a temp folder. Then, each step
in a fresh process so that its peak RSS is its own (``wait4``'s ``ru_maxrss``):

1. register: ``ws.datasets.register("events", CsvSource(path))`` (CSV -> Parquet, hash, profile,
   store);
2. profile: the version's Parquet profiled again (``profile_parquet``);
3. validate: a suite of ranges, allowed values and a row check, policy ``warn``;
4. anomalies: the version compared with itself as reference (every column scanned).

``FALAJ_BENCH_BASELINE_SRC`` (a ``src`` folder of another checkout, e.g. ``git worktree add
/tmp/base main``) runs the same steps on that code beside this one ("today's" numbers). The
baseline loads whole datasets in memory: give it a size this machine can hold.

Run: ``python -m benchmarks.data_memory [--mb N]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

LIMIT_MB = 2048
DEFAULT_MB = int(os.environ.get("FALAJ_BENCH_CSV_MB", "2048"))
STEPS = ("register", "profile", "validate", "anomalies")

SUITE = """
suite: events
columns:
  amount: {type: float, min: -1000, max: 100000}
  quantity: {type: int, min: 0}
  channel: {type: str, in: [web, app, store, phone]}
  country: {type: str}
checks:
  - {name: price_positive, expr: "price >= 0"}
"""

_STEP_SCRIPT = textwrap.dedent(
    """
    import sys
    step, home, csv, suite = sys.argv[1:5]
    from falaj.workspace import Workspace
    if step == "register":
        from falaj.data.sources import CsvSource
        with Workspace.init(home) as ws:
            print(ws.datasets.register("events", CsvSource(csv)).row_count)
    else:
        with Workspace.open(home) as ws:
            if step == "profile":
                from falaj.data.profile import profile_parquet
                version = ws.datasets.get("events")
                with ws.artifacts.local_path(version.artifact_digest) as path:
                    print(profile_parquet(path).row_count)
            elif step == "validate":
                print(ws.datasets.validate("events", suite, policy="warn").status)
            else:
                print(len(ws.datasets.detect_anomalies("events@1", "events@1").findings))
    """
)


def write_csv(path: Path, size_mb: int, seed: int = 0) -> int:
    """A CSV of about ``size_mb`` MiB, written in blocks by Arrow; returns its row count."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    block = 500_000
    rows = 0
    target = size_mb * 2**20
    notes = np.array([f"note {i}" for i in range(500)], dtype=object)
    start = np.datetime64("2026-01-01T00:00:00", "s")
    with path.open("wb") as fh:
        writer: pacsv.CSVWriter | None = None
        while fh.tell() < target:
            table = pa.table(
                {
                    "event_id": np.arange(rows, rows + block),
                    "amount": rng.normal(250.0, 80.0, block).round(2),
                    "price": rng.gamma(2.0, 20.0, block).round(2),
                    "quantity": rng.integers(0, 40, block),
                    "score": rng.random(block).round(5),
                    "latency_ms": rng.exponential(120.0, block).round(1),
                    "channel": rng.choice(np.array(["web", "app", "store", "phone"]), block),
                    "country": rng.choice(np.array(["OM", "AE", "SA", "QA", "KW", "BH"]), block),
                    "note": notes[rng.integers(0, len(notes), block)],
                    "at": start + rng.integers(0, 86_400 * 300, block).astype("timedelta64[s]"),
                }
            )
            if writer is None:
                writer = pacsv.CSVWriter(fh, table.schema)
            writer.write_table(table)
            fh.flush()
            rows += block
        if writer is not None:
            writer.close()
    return rows


def run_step(step: str, home: Path, csv: Path, suite: Path, src: str) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB, output) of one step in a fresh process."""
    env = {**os.environ, "PYTHONPATH": src}
    os.sync()  # no step pays for the writeback of the generated CSV or of an earlier step
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", _STEP_SCRIPT, step, str(home), str(csv), str(suite)],
            env=env,
            stdout=out,
            stderr=err,
            text=True,
        )
        _, status, usage = os.wait4(proc.pid, 0)  # reaped here: its own rusage
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        printed, errors = out.read().strip(), err.read().strip()
    if proc.returncode:
        last = errors.splitlines()[-1] if errors else f"exit {proc.returncode}"
        return elapsed, float("nan"), f"failed: {last}"
    return elapsed, usage.ru_maxrss / 1024, printed


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    size_mb = int(args[args.index("--mb") + 1]) if "--mb" in args else DEFAULT_MB
    here = str(Path(__file__).resolve().parents[1] / "src")
    baseline = os.environ.get("FALAJ_BENCH_BASELINE_SRC")
    with tempfile.TemporaryDirectory(prefix="falaj-bench-memory-") as tmp:
        root = Path(tmp)
        csv = root / "events.csv"
        suite = root / "suite.yaml"
        suite.write_text(SUITE, encoding="utf-8")
        started = time.perf_counter()
        rows = write_csv(csv, size_mb)
        print(
            f"data at scale: a {csv.stat().st_size / 2**20:,.0f} MiB CSV, {rows:,} rows x 10 "
            f"columns (generated in {time.perf_counter() - started:.0f} s); each step in a fresh "
            f"process, peak RSS from wait4; bound {LIMIT_MB} MiB"
        )
        sides = [("falaj", here)] + ([("today", baseline)] if baseline else [])
        results: dict[str, dict[str, tuple[float, float, str]]] = {}
        for label, src in sides:
            results[label] = {}
            home = root / f"ws-{label}"
            for step in STEPS:
                results[label][step] = run_step(step, home, csv, suite, src)
        header = f"{'step':<10} {'seconds':>9} {'peak RSS':>10} {'bound':>6}"
        if baseline:
            header += f" {'today s':>9} {'today RSS':>10}"
        print(header)
        for step in STEPS:
            seconds, peak, out = results["falaj"][step]
            ok = "ok" if peak <= LIMIT_MB else "OVER"
            line = f"{step:<10} {seconds:>9.1f} {peak:>8.0f}Mi {ok:>6}"
            if baseline:
                b_seconds, b_peak, _ = results["today"][step]
                line += f" {b_seconds:>9.1f} {b_peak:>8.0f}Mi"
            print(line + (f"   ({out})" if out.startswith("failed") else ""))


if __name__ == "__main__":
    main()
