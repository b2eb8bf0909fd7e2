"""Drift benchmark: reference 100k rows vs current 100k rows, 20 numeric + 5 categorical columns.

Measured in the same run, each in a fresh process on the same generated data (numpy's PCG64
stream, identical in every environment):

- Falaj, cold: sketch the reference (quantile bins, category counts) and compare, from raw data;
- Falaj, warm: the reference sketch is already cached (what a monitor run does every hour);
- Evidently's data drift preset (``DataDriftPreset``), installed in its own ``.venv-evidently``
  by this benchmark; if it cannot be installed or run, the table says why and the rest stands;
- the floor: ``scipy.stats.ks_2samp`` over the 20 numeric columns (no categorical tests, no
  report): the least work any drift check of these columns must do.

Time is the wall clock of the drift computation alone (data already in memory); memory is the
peak resident set during it above the resident set before it (``VmHWM`` reset through
``/proc/self/clear_refs``). Targets: at least 10x faster than Evidently with at most half of
its memory, within 2x of the floor.

Run: ``python -m benchmarks.drift``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks._peer import print_alone, reason_of

ROOT = Path(__file__).resolve().parent.parent
EVIDENTLY_VENV = ROOT / ".venv-evidently"
ROWS = 100_000
REPEATS = 3

WORKER = r"""
import gc, json, sys, time
from pathlib import Path

import numpy as np
import pandas as pd

ROWS = int(sys.argv[2])


def frame(seed, shift):
    rng = np.random.default_rng(seed)
    data = {}
    for i in range(20):
        data[f"num_{i}"] = rng.normal(0.0, 1.0, ROWS) + (shift if i < 4 else 0.0)
    cats = np.array(["a", "b", "c", "d", "e", "f", "g", "h"], dtype=object)
    p = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.05])
    for j in range(5):
        q = p[::-1] if (shift and j == 0) else p
        data[f"cat_{j}"] = cats[rng.choice(8, ROWS, p=q)]
    return pd.DataFrame(data)


def rss_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


ref, cur = frame(1, 0.0), frame(2, 0.3)
mode = sys.argv[1]
numeric = [c for c in ref.columns if c.startswith("num_")]

prepare = lambda: None
if mode == "falaj-cold":
    from falaj.monitoring.drift import compare
    from falaj.monitoring.sketch import build_sketch, count_current
    import scipy.stats, scipy.spatial.distance  # imports are not part of the timing

    def run():
        sketch = build_sketch(ref, reference="ref")
        return compare(count_current(sketch, cur)).drifted_columns
elif mode == "falaj-warm":
    from falaj.monitoring.drift import compare
    from falaj.monitoring.sketch import ReferenceSketch, build_sketch, count_current
    import scipy.stats, scipy.spatial.distance

    cached = build_sketch(ref, reference="ref").to_bytes()  # as stored by the service

    def run():
        sketch = ReferenceSketch.from_bytes(cached)
        return compare(count_current(sketch, cur)).drifted_columns
elif mode == "scipy":
    from scipy.stats import ks_2samp

    def run():
        return [c for c in numeric if ks_2samp(ref[c].to_numpy(), cur[c].to_numpy()).pvalue < 0.05]
else:
    try:  # Evidently >= 0.7
        from evidently import Report
        from evidently.presets import DataDriftPreset

        def run():
            snapshot = Report([DataDriftPreset()]).run(cur, ref)
            return len(json.dumps(snapshot.dict(), default=str))
    except ImportError:  # the legacy API
        from evidently.metric_preset import DataDriftPreset
        from evidently.report import Report

        def run():
            report = Report(metrics=[DataDriftPreset()])
            report.run(reference_data=ref, current_data=cur)
            return len(json.dumps(report.as_dict(), default=str))

gc.collect()
try:
    Path("/proc/self/clear_refs").write_text("5")
except OSError:
    pass
before = rss_kib("VmRSS")
start = time.perf_counter()
result = run()
seconds = time.perf_counter() - start
peak = rss_kib("VmHWM")
mib = max(peak - before, 0) / 1024
print(json.dumps({"seconds": seconds, "peak_mib": mib, "result": str(result)[:200]}))
"""


def _measure(python: str, mode: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    proc = subprocess.run(
        [python, "-c", WORKER, mode, str(ROWS)],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} failed: {proc.stderr.strip()[-600:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _median(python: str, mode: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    runs = [_measure(python, mode, env) for _ in range(REPEATS)]
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "peak_mib": statistics.median(r["peak_mib"] for r in runs),
        "result": runs[0]["result"],
    }


def _ensure_evidently() -> Path:
    python = EVIDENTLY_VENV / "bin" / "python"
    check = [str(python), "-c", "from evidently import Report"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print("creating .venv-evidently with Evidently 0.7 (once)...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "venv", "--clear", str(EVIDENTLY_VENV)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    install = subprocess.run(
        # Evidently 0.7 imports pandas internals that pandas 3 removed
        [str(python), "-m", "pip", "install", "-q", "evidently>=0.7,<0.8", "pandas>=2.1,<3"],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if install.returncode != 0 or subprocess.run(check, capture_output=True).returncode != 0:
        lines = [x for x in install.stderr.splitlines() if x.strip() and "WARNING" not in x]
        raise RuntimeError(f"Evidently could not be installed: {' '.join(lines)[-300:]}")
    return python


def main() -> None:
    env = {"PYTHONPATH": str(ROOT / "src")}
    print(
        f"reference {ROWS:,} rows vs current {ROWS:,} rows, 20 numeric + 5 categorical", flush=True
    )
    print("Falaj (cold: sketch + compare)...", flush=True)
    cold = _median(sys.executable, "falaj-cold", env)
    print("Falaj (warm: cached reference sketch)...", flush=True)
    warm = _median(sys.executable, "falaj-warm", env)
    print("scipy.stats.ks_2samp over the 20 numeric columns (floor)...", flush=True)
    floor = _median(sys.executable, "scipy")
    print(f"  Falaj flagged: {cold['result']}", flush=True)
    evidently: dict[str, Any] | None = None
    reason = None
    try:
        python = _ensure_evidently()
        print("Evidently DataDriftPreset...", flush=True)
        evidently = _measure(str(python), "evidently")
    except Exception as exc:  # the peer's failure is a result, not a crash
        reason = reason_of(exc)
        print(f"Evidently FAILED: {reason}", flush=True)
    print()
    if evidently is None:
        print_alone(
            "Evidently",
            reason,
            {
                "Falaj cold time (s)": cold["seconds"],
                "Falaj warm time (s)": warm["seconds"],
                "Falaj cold peak memory (MiB)": cold["peak_mib"],
                "scipy ks_2samp floor time (s)": floor["seconds"],
            },
        )
        print(f"Falaj cold / floor: {cold['seconds'] / floor['seconds']:.2f} (target <= 2)")
        return
    print(f"{'measure':<40}{'Falaj cold':>12}{'Falaj warm':>12}{'Evidently':>12}{'ks floor':>12}")
    print(
        f"{'time (s)':<40}{cold['seconds']:>12.3f}{warm['seconds']:>12.3f}"
        f"{evidently['seconds']:>12.3f}{floor['seconds']:>12.3f}"
    )
    print(
        f"{'peak memory above the data (MiB)':<40}{cold['peak_mib']:>12.1f}"
        f"{warm['peak_mib']:>12.1f}{evidently['peak_mib']:>12.1f}{floor['peak_mib']:>12.1f}"
    )
    print(
        f"Evidently / Falaj cold time: {evidently['seconds'] / cold['seconds']:.1f}x "
        f"(warm {evidently['seconds'] / warm['seconds']:.1f}x; target >= 10x)"
    )
    print(
        f"Falaj cold / Evidently memory: {cold['peak_mib'] / max(evidently['peak_mib'], 1e-9):.2f} "
        "(target <= 0.5)"
    )
    print(
        f"Falaj cold / floor time: {cold['seconds'] / floor['seconds']:.2f} "
        f"(warm {warm['seconds'] / floor['seconds']:.2f}; target <= 2)"
    )


if __name__ == "__main__":
    main()
