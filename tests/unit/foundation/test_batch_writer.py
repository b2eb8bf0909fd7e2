"""The batched background writer (foundation): flush loses nothing, batches and memory are
bounded, one bad row never blocks the others, an unavailable backend is retried, and the crash
window is what the docs say."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from falaj.errors import BackendUnavailableError, ConflictError
from falaj.store.batch_writer import BatchWriteError, BatchWriter
from falaj.workspace import Workspace


class Collector:
    """A persist function that records batches (optionally slowly, or failing N times)."""

    def __init__(self, delay: float = 0.0, failures: int = 0, poison: object = None) -> None:
        self.batches: list[list[tuple[object, ...]]] = []
        self.delay = delay
        self.failures = failures
        self.poison = poison
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, items: list[tuple[object, ...]]) -> None:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise BackendUnavailableError("disk unavailable")
        if self.poison is not None and any(self.poison in row for row in items):
            raise ValueError("cannot encode this row")
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
    with pytest.raises(BatchWriteError, match="disk unavailable"):
        writer.flush()
    assert writer.pending == 5
    writer.flush()
    assert [row[4] for row in sink.rows] == [0, 1, 2, 3, 4]


def test_full_queue_with_a_failing_writer_raises_instead_of_growing() -> None:
    sink = Collector(failures=10**9)
    writer = BatchWriter(sink, batch_size=10, max_pending=20, flush_interval=0.01)
    with pytest.raises(BatchWriteError, match="queue of falaj-writer is full"):
        for i in range(10_000):
            writer.submit((0, "r", "k", 1.0, i, 0.0))
    assert writer.pending <= 20
    sink.failures = 0
    writer.flush()
    assert len(sink.rows) == writer.written


def test_a_poison_row_is_isolated_reported_once_and_never_blocks_the_others() -> None:
    sink = Collector(poison="\udcff")
    writer = BatchWriter(sink, batch_size=64, flush_interval=60)
    rows = [(1, "r", f"p{i}", "\udcff" if i == 37 else "v") for i in range(200)]
    writer.submit_many(rows)
    with pytest.raises(BatchWriteError, match=r"1 logged row\(s\) were refused.*p37"):
        writer.flush()
    written = {row[2] for row in sink.rows}
    assert written == {f"p{i}" for i in range(200) if i != 37}
    assert writer.pending == 0 and writer.rejected_total == 1
    calls = sink.calls
    writer.flush()  # reported once, never retried
    assert sink.calls == calls
    writer.submit((1, "r", "after", "v"))
    writer.flush()
    assert sink.rows[-1][2] == "after"


def test_flush_inside_the_callers_own_transaction_is_refused() -> None:
    sink = Collector()
    writer = BatchWriter(
        sink, batch_size=10, flush_interval=60, in_foreign_transaction=lambda: True
    )
    writer.submit((0, "r", "k", 1.0, 0, 0.0))
    with pytest.raises(ConflictError, match="inside an open transaction"):
        writer.flush()
    assert writer.pending == 1


def test_default_queue_holds_one_batch() -> None:
    writer = BatchWriter(Collector(), batch_size=250)
    assert writer.max_pending == 250


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


def test_importing_the_writer_and_tracking_registers_no_exit_hook() -> None:
    """No module-level side effects: the atexit hook arrives with the first writer thread."""
    code = textwrap.dedent(
        """
        import atexit
        hooks = []
        real = atexit.register
        def spy(fn, *a, **k):
            hooks.append(getattr(fn, "__module__", "") or "")
            return real(fn, *a, **k)
        atexit.register = spy
        ours = lambda: [m for m in hooks if m.startswith("falaj")]
        import falaj.store.batch_writer, falaj.tracking.service, falaj.workspace
        assert ours() == [], f"import registered an exit hook: {ours()}"
        from falaj.store.batch_writer import BatchWriter
        w = BatchWriter(lambda rows: None, batch_size=1, flush_interval=60)
        assert ours() == [], "constructing a writer registered an exit hook"
        w.submit((1,))
        assert ours() == ["falaj.store.batch_writer"], ours()
        BatchWriter(lambda rows: None, batch_size=1, flush_interval=60).submit((3,))
        assert len(ours()) == 1, "one hook serves every writer"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
