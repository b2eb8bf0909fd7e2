"""CLI start-up benchmark: what one ``falaj`` command costs in wall time, start to exit.

Each command is a whole process (interpreter start, imports, workspace open, the work, exit),
run 11 times; the table shows the median and the fastest run, next to a bare ``python -c pass``
for the interpreter's own share. The heaviest imports of ``falaj info`` (from ``python -X
importtime``) say where the rest goes.

Target (issue 12): ``falaj info`` and ``falaj runs list`` <= 0.3 s on an idle machine.
Run: ``python -m benchmarks.cli``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 11
TARGET_S = 0.3


def _median_and_min(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[2:])} exited {proc.returncode}: {proc.stderr}")
    return statistics.median(times), min(times)


def heaviest_imports(argv: list[str], env: dict[str, str], top: int = 6) -> list[tuple[str, float]]:
    """Top-level packages by cumulative import time (ms) in one run of ``argv``."""
    proc = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]], env=env, capture_output=True, text=True
    )
    totals: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        if name.startswith("  ") or not cumulative.strip().isdigit():
            continue  # only the outermost imports: their cumulative time includes the rest
        package = name.strip().split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(cumulative) / 1000
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def main() -> None:
    from falaj.workspace import Workspace

    with tempfile.TemporaryDirectory(prefix="falaj-bench-cli-") as tmp:
        home = Path(tmp) / "ws"
        with Workspace.init(home) as ws:
            for i in range(20):
                with ws.start_run("bench", run_name=f"r{i}") as run:
                    run.log_metric("m", float(i))
        env = {**os.environ, "FALAJ_HOME": str(home), "COLUMNS": "120"}
        falaj = [sys.executable, "-m", "falaj"]
        rows = [
            ("python -c pass (interpreter only)", [sys.executable, "-c", "pass"], None),
            ("falaj --version", [*falaj, "--version"], None),
            ("falaj --help", [*falaj, "--help"], None),
            ("falaj info", [*falaj, "info"], TARGET_S),
            ("falaj runs list (20 runs)", [*falaj, "runs", "list"], TARGET_S),
        ]
        print(f"{'command (whole process)':<40}{'median s':>10}{'fastest s':>11}   target")
        for label, argv, target in rows:
            median, fastest = _median_and_min(argv, env)
            mark = ""
            if target is not None:
                verdict = "met" if median <= target else "missed"
                mark = f"<= {target} s on an idle machine ({verdict} here)"
            print(f"{label:<40}{median:>10.3f}{fastest:>11.3f}   {mark}")
        heavy = heaviest_imports([*falaj, "info"], env)
        print(
            "heaviest imports of `falaj info` (ms): " + ", ".join(f"{n} {t:.0f}" for n, t in heavy)
        )


if __name__ == "__main__":
    main()
