"""The UI's runs table over 10,000 runs: server time per page (target: under 300 ms).

A real server (uvicorn on a loopback port, an embedded workspace) answers ``/ui/runs`` with a
bearer token; the server's own time (its ``Server-Timing`` header: the search plus rendering)
and the time the client saw are reported as medians over repeated loads, for the default order,
a metric sort, a filter and the largest page size.

Peer: MLflow's runs table is drawn in the browser (React) from its search API, so there is no
server-rendered page to time against; the row says so. ``benchmarks.tracking`` compares the
search itself with MLflow's.

``FALAJ_BENCH_UI_HOME=DIR`` keeps the 10,000-run workspace in DIR (built on the first run, reused
after), to time the pages again without building it again.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

N_RUNS = 10_000
REPEATS = 15
TARGET_MS = 300.0
PAGES = {
    "newest first, 50 a page": {},
    "sorted by a metric": {"order": "metrics.`m`", "dir": "desc"},
    "filtered (metrics.m > 0.5)": {"filter": "metrics.m > 0.5"},
    "200 a page": {"per": "200"},
}


def _populate(root: Path) -> None:
    from falaj.governance.principal import Principal
    from falaj.workspace import Workspace

    with Workspace.init(root / "ws", principal=Principal("bench")) as ws:
        for i in range(N_RUNS):
            with ws.start_run(f"exp-{i % 4}", run_name=f"run-{i}") as run:
                run.log_params({"model": ("lgbm", "logreg")[i % 2], "i": i})
                run.log_metrics({"m": (i * 7919 % N_RUNS) / N_RUNS, "loss": 1 / (i + 1)})


def main() -> None:
    import httpx

    from falaj.governance.principal import Principal
    from falaj.ui import TokenTable, running_ui
    from falaj.workspace import Workspace

    keep = os.environ.get("FALAJ_BENCH_UI_HOME")
    with tempfile.TemporaryDirectory(prefix="falaj-bench-ui-") as tmp:
        root = Path(keep) if keep else Path(tmp)
        if not (root / "ws" / "falaj.toml").exists():
            started = time.perf_counter()
            _populate(root)
            print(f"{N_RUNS:,} runs created in {time.perf_counter() - started:.1f} s", flush=True)
        token = "bench-token-0123456789"
        with (
            Workspace.open(root / "ws", principal=Principal("bench")) as ws,
            running_ui(ws, TokenTable({token: Principal("bench")})) as base,
            httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client,
        ):
            rows = []
            for label, params in PAGES.items():
                client.get(f"{base}/runs", params=params)  # warm caches, as a user's second load
                server, seen = [], []
                for _ in range(REPEATS):
                    t0 = time.perf_counter()
                    response = client.get(f"{base}/runs", params=params)
                    seen.append((time.perf_counter() - t0) * 1000)
                    response.raise_for_status()
                    timing = response.headers["server-timing"]
                    server.append(float(timing.split("dur=")[1]))
                rows.append(
                    (label, statistics.median(server), max(server), statistics.median(seen))
                )
    print(f"\n/ui/runs over {N_RUNS:,} runs (median of {REPEATS}; target < {TARGET_MS:.0f} ms)")
    print(f"{'page':<30} {'server ms':>10} {'worst ms':>9} {'client ms':>10}  verdict")
    for label, med, worst, seen in rows:
        verdict = "ok" if med < TARGET_MS else "OVER TARGET"
        print(f"{label:<30} {med:>10.1f} {worst:>9.1f} {seen:>10.1f}  {verdict}")
    print(
        f"{'MLflow UI (peer)':<30} {'n/a':>10} {'':>9} {'':>10}  not comparable: its table is "
        "rendered client-side (React) from the search API; see benchmarks.tracking"
    )


if __name__ == "__main__":
    main()
