"""Version numbers stay unique and gap-free when several processes register at once."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from falaj.governance.principal import Principal
from falaj.workspace import Workspace
from tests.registry_support import log_model

PROCESSES = 4
VERSIONS_EACH = 5


def _register_many(home: str, uri: str, worker: int, start: mp.synchronize.Event) -> None:
    start.wait(60)
    with Workspace.open(home, principal=Principal(f"worker-{worker}")) as ws:
        for _ in range(VERSIONS_EACH):
            ws.registry.create_version("credit-risk", uri)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_parallel_processes_get_unique_consecutive_versions(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    options = {} if backend == "sqlite" else {"db_url": request.getfixturevalue("pg_url")}
    home = tmp_path / "ws"
    with Workspace.init(home, principal=Principal("alice"), **options) as ws:
        uri = log_model(ws).uri
    spawn = mp.get_context("spawn")
    start = spawn.Event()
    workers = [
        spawn.Process(target=_register_many, args=(str(home), uri, n, start))
        for n in range(PROCESSES)
    ]
    for w in workers:
        w.start()
    start.set()
    for w in workers:
        w.join(240)
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    with Workspace.open(home) as ws:
        versions = ws.registry.list_versions("credit-risk")
        model = ws.registry.get_model("credit-risk")
    total = PROCESSES * VERSIONS_EACH
    assert sorted(v.version for v in versions) == list(range(1, total + 1))
    assert model.latest_version == total
    by_worker = {f"worker-{n}": 0 for n in range(PROCESSES)}
    for v in versions:
        by_worker[v.created_by] += 1
    assert set(by_worker.values()) == {VERSIONS_EACH}
