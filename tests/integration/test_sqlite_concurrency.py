"""Several processes writing into one embedded (SQLite) workspace at once lose nothing."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from falaj.governance import Principal
from falaj.lineage import Node
from falaj.workspace import Workspace

PROCESSES = 8
WRITES = 40


def _writer(home: str, worker: int) -> int:
    with Workspace.open(home, principal=Principal(f"worker-{worker}")) as ws:
        for i in range(WRITES):
            meta = ws.artifacts.put_bytes(f"worker {worker} object {i}".encode())
            ws.lineage.record(
                Node("run", f"w{worker}-{i}"), Node("artifact", meta.digest), "output"
            )
            with ws.start_run("concurrency", run_name=f"w{worker}-{i}") as run:
                run.log_param("worker", worker)
                for step in range(10):
                    run.log_metric("m", float(step), step=step)
    return worker


def test_eight_processes_write_without_lock_errors_or_lost_rows(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    Workspace.init(home).close()
    ctx = mp.get_context("spawn")
    with ctx.Pool(PROCESSES) as pool:
        done = sorted(pool.starmap(_writer, [(str(home), w) for w in range(PROCESSES)]))
    assert done == list(range(PROCESSES))
    with Workspace.open(home) as ws:
        assert len(ws.artifacts.list(limit=10_000)) == PROCESSES * WRITES
        events = ws.audit.list(action="artifact.put", limit=10_000)
        assert len(events) == PROCESSES * WRITES
        assert {e.outcome for e in events} == {"success"}
        assert {e.principal for e in events} == {f"worker-{w}" for w in range(PROCESSES)}
        assert ws.artifacts.verify().ok
        runs = ws.tracking.search_runs("", experiment="concurrency", max_results=1000).runs
        assert len(runs) == PROCESSES * WRITES
        assert {r.status for r in runs} == {"FINISHED"}
        history = ws.tracking.metric_history(runs[0].id, "m")
        assert [p.value for p in history] == [float(s) for s in range(10)]
        for w in range(PROCESSES):
            edges = ws.lineage.downstream(Node("run", f"w{w}-{WRITES - 1}"))
            assert len(edges) == 1


def test_concurrent_first_opens_migrate_once(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    Workspace.init(home).close()
    (home / "falaj.db").unlink()  # a workspace folder whose database is not created yet
    for suffix in ("-wal", "-shm"):
        Path(f"{home / 'falaj.db'}{suffix}").unlink(missing_ok=True)
    ctx = mp.get_context("spawn")
    with ctx.Pool(4) as pool:
        ids = pool.map(_open_id, [str(home)] * 4)
    assert len(set(ids)) == 1


def _open_id(home: str) -> str:
    with Workspace.open(home) as ws:
        return ws.id
