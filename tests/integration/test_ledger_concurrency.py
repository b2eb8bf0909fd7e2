"""Several writers append to one chain at once: on PostgreSQL (two processes, and threads in
each) every record links to the one before it and ``seq`` has no gap."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from falaj.governance import Principal
from falaj.workspace import Workspace

EACH = 15


def _append(home: str, db_url: str, tag: str, start: multiprocessing.synchronize.Event) -> None:
    with Workspace.open(home, db_url=db_url, principal=Principal(tag)) as ws:
        start.wait(60)

        def work(thread: int) -> None:
            for i in range(EACH):
                ws.artifacts.put_bytes(f"{tag}-{thread}-{i}".encode())

        threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


@pytest.mark.slow
def test_two_processes_appending_keep_one_verifiable_chain(pg_url: str, tmp_path: Path) -> None:
    home = tmp_path / "ws"
    Workspace.init(home, db_url=pg_url).close()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [
        ctx.Process(target=_append, args=(str(home), pg_url, f"p{i}", start)) for i in range(2)
    ]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0
    with Workspace.open(home, db_url=pg_url) as ws:
        with ws.store.read() as conn:
            seqs = [
                r[0] for r in conn.execute(sa.text("SELECT seq FROM audit_events ORDER BY seq"))
            ]
            puts = conn.execute(
                sa.text("SELECT COUNT(*) FROM audit_events WHERE action = 'artifact.put'")
            ).scalar_one()
        assert puts == 2 * 2 * EACH
        assert seqs == list(range(1, len(seqs) + 1))  # gap-free
        report = ws.audit.verify()
        assert report.ok, report.problems
        assert report.checked == len(seqs)
