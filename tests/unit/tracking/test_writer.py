"""The batched background writer: flush loses nothing, batches are bounded, memory is bounded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from falaj.tracking.errors import TrackingWriteError
from falaj.tracking.writer import BatchWriter
from falaj.workspace import Workspace


class Collector:
    """A persist function that records batches (optionally slowly, or failing N times)."""

    def __init__(self, delay: float = 0.0, failures: int = 0) -> None:
        self.batches: list[list[tuple[object, ...]]] = []
        self.delay = delay
        self.failures = failures
        self.lock = threading.Lock()

    def __call__(self, items: list[tuple[object, ...]]) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("disk unavailable")
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.batches.append(list(items))

    @property
    def rows(self) -> list[tuple[object, ...]]:
        return [row for batch in self.batches for row in batch]


def test_flush_writes_everything_submitted_before_it_in_order() -> None:
    sink = Collector()
    writer = BatchWriter(sink, batch_size=100, flush_interval=60)
    for i in range(1234):
        writer.submit((0, "r", "k", float(i), i, 0.0))
    writer.flush()
    assert [row[4] for row in sink.rows] == list(range(1234))
    assert writer.pending == 0


def test_batches_never_exceed_the_batch_size() -> None:
    sink = Collector()
    writer = BatchWriter(sink, batch_size=64, flush_interval=60)
    writer.submit_many([(1, "r", f"p{i}", "v") for i in range(1000)])
    writer.flush()
    assert max(len(b) for b in sink.batches) <= 64
    assert len(sink.rows) == 1000


def test_background_thread_writes_without_an_explicit_flush() -> None:
    sink = Collector()
    writer = BatchWriter(sink, batch_size=10, flush_interval=0.05)
    for i in range(25):
        writer.submit((0, "r", "k", 1.0, i, 0.0))
    deadline = time.monotonic() + 10
    while len(sink.rows) < 25 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(sink.rows) == 25


def test_queue_never_holds_more_than_max_pending_under_a_flood() -> None:
    sink = Collector(delay=0.002)
    writer = BatchWriter(sink, batch_size=50, max_pending=200, flush_interval=0.01)
    peak = 0
    for i in range(3000):
        writer.submit((0, "r", "k", 1.0, i, 0.0))
        peak = max(peak, writer.pending)
    writer.flush()
    assert peak <= 200
    assert [row[4] for row in sink.rows] == list(range(3000))


def test_failed_batch_stays_queued_and_flush_raises_then_recovers() -> None:
    sink = Collector(failures=1)
    writer = BatchWriter(sink, batch_size=10, flush_interval=60)
    for i in range(5):
        writer.submit((0, "r", "k", 1.0, i, 0.0))
    with pytest.raises(TrackingWriteError, match="disk unavailable"):
        writer.flush()
    assert writer.pending == 5
    writer.flush()
    assert [row[4] for row in sink.rows] == [0, 1, 2, 3, 4]


def test_full_queue_with_a_failing_writer_raises_instead_of_growing() -> None:
    sink = Collector(failures=10**9)
    writer = BatchWriter(sink, batch_size=10, max_pending=20, flush_interval=0.01)
    with pytest.raises(TrackingWriteError, match="queue is full"):
        for i in range(10_000):
            writer.submit((0, "r", "k", 1.0, i, 0.0))
    assert writer.pending <= 20
    sink.failures = 0
    writer.flush()
    assert len(sink.rows) == writer.written


def _metric_count(db: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM tracking_metrics")).scalar_one())
    finally:
        engine.dispose()


def test_run_context_exit_leaves_every_metric_durable(ws: Workspace) -> None:
    with ws.start_run("durability") as run:
        for i in range(5000):
            run.log_metric("loss", 1.0 / (i + 1), step=i)
    assert _metric_count(ws.home / "falaj.db") == 5000


def _run_script(tmp_path: Path, body: str) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, sys
            from falaj.workspace import Workspace
            ws = Workspace.open({str(tmp_path / "ws")!r})
            run = ws.start_run("exit")
            print(run.id)
            """
        )
        + textwrap.dedent(body),
        encoding="utf-8",
    )
    subprocess.run([sys.executable, str(script)], check=True, capture_output=True, timeout=120)


@pytest.mark.slow
def test_normal_interpreter_exit_flushes_and_marks_open_run_killed(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    _run_script(
        tmp_path,
        """
        for i in range(3000):
            run.log_metric("loss", 0.5, step=i)
        # no end(), no flush(): the atexit hooks must write everything
        """,
    )
    assert _metric_count(tmp_path / "ws" / "falaj.db") == 3000
    with Workspace.open(tmp_path / "ws") as ws:
        (run,) = ws.tracking.search_runs(experiment="exit").runs
        assert run.status == "KILLED"


@pytest.mark.slow
def test_killed_process_loses_only_what_was_not_flushed(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    _run_script(
        tmp_path,
        """
        for i in range(2000):
            run.log_metric("loss", 0.5, step=i)
        run.flush()
        for i in range(10):
            run.log_metric("loss", 0.5, step=2000 + i)
        os._exit(0)  # like SIGKILL: no atexit hooks run
        """,
    )
    count = _metric_count(tmp_path / "ws" / "falaj.db")
    assert 2000 <= count <= 2010
