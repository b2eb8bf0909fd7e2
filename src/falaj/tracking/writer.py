"""The batched background writer behind ``log_metric``/``log_param``/``set_tag``.

Calls return at once: :meth:`BatchWriter.submit` appends a small tuple to an in-memory queue
(a ``deque`` append, well under a microsecond). A daemon thread wakes when a batch is full or
every ``flush_interval`` seconds and writes up to ``batch_size`` rows at a time with
``executemany``, one transaction per batch.

Guarantees:

- **Bounded memory.** The queue holds at most ``max_pending`` rows; a caller that would exceed it
  blocks until the writer has made room (back-pressure), so a flood of calls cannot exhaust
  memory.
- **Nothing lost on flush, run end or exit.** :meth:`flush` writes everything submitted before
  it was called, on the caller's thread, before returning; a run's end flushes; an ``atexit``
  hook flushes every live writer when the interpreter exits normally.
- **Crash window.** A process that is killed (SIGKILL, power loss, ``os._exit``) loses what was
  still queued: at most ``max_pending`` rows, and in practice the rows submitted since the last
  batch was written (at most ``batch_size`` rows or ``flush_interval`` seconds of logging,
  whichever comes first). Rows already written are durable (SQLite WAL / PostgreSQL commit).
- **Failures are not silent.** A batch that fails to write stays queued (in order) and is retried;
  the error is raised by the next :meth:`flush` (and so by the run's end).
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from falaj.errors import FalajError
from falaj.tracking.errors import TrackingWriteError

__all__ = ["DEFAULT_FLUSH_INTERVAL", "BatchWriter", "Item"]

_log = logging.getLogger("falaj.tracking")

#: One queued row: (kind, run_id, key, value, step, timestamp_seconds); see ``falaj.tracking.rows``.
Item = tuple[Any, ...]
Persist = Callable[[list[Item]], None]

DEFAULT_FLUSH_INTERVAL = 0.5
_IDLE_EXIT_S = 5.0
_live_writers: weakref.WeakSet[BatchWriter] = weakref.WeakSet()


class BatchWriter:
    """A bounded queue of rows and the daemon thread that writes them in batches."""

    def __init__(
        self,
        persist: Persist,
        *,
        batch_size: int = 1000,
        max_pending: int | None = None,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        name: str = "falaj-tracking-writer",
    ) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self._persist = persist
        self.batch_size = batch_size
        self.max_pending = max_pending if max_pending is not None else max(batch_size * 20, 10_000)
        if self.max_pending < batch_size:
            raise ValueError("max_pending must be at least batch_size")
        self._flush_interval = flush_interval
        self._name = name
        self._queue: deque[Item] = deque()
        self._wake = threading.Event()
        self._room = threading.Condition(threading.Lock())
        self._io_lock = threading.RLock()
        self._state_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._closed = False
        self.written = 0
        self.peak_pending = 0
        _live_writers.add(self)

    # -- the caller's side ---------------------------------------------------------------------
    def submit(self, item: Item) -> None:
        """Queue one row; returns at once unless the queue is full (then waits for room)."""
        queue = self._queue
        if len(queue) >= self.max_pending:
            self._wait_for_room()
        queue.append(item)
        if len(queue) >= self.batch_size and not self._wake.is_set():
            self._wake.set()
        if self._thread is None:
            self._ensure_thread()

    def submit_many(self, items: list[Item]) -> None:
        """Queue rows in order (waiting for room in chunks when the queue is full)."""
        for start in range(0, len(items), self.batch_size):
            chunk = items[start : start + self.batch_size]
            if len(self._queue) + len(chunk) > self.max_pending:
                self._wait_for_room(len(chunk))
            self._queue.extend(chunk)
            self._wake.set()
        if self._thread is None:
            self._ensure_thread()

    @property
    def pending(self) -> int:
        """Rows queued and not yet written."""
        return len(self._queue)

    def flush(self) -> None:
        """Write every row submitted before this call; raises if they cannot be written."""
        with self._io_lock:
            while self._queue:
                self._write_one_batch(raise_errors=True)
            self._error = None

    @contextmanager
    def exclusive(self) -> Iterator[Callable[[], list[Item]]]:
        """Hold the writer still and get a ``drain()`` that takes every queued row.

        Used to write the queue inside another transaction (a run's end). The caller owns the
        drained rows: if its transaction fails it must :meth:`requeue` them.
        """
        with self._io_lock:
            yield self._drain_all

    def requeue(self, items: list[Item]) -> None:
        """Put rows back at the front of the queue, in order (after a failed write)."""
        self._queue.extendleft(reversed(items))

    def close(self) -> None:
        """Flush and stop the thread (further submits restart it)."""
        self.flush()
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    # -- the writer's side ---------------------------------------------------------------------
    def _wait_for_room(self, needed: int = 1) -> None:
        """Block until ``needed`` more rows fit in the queue (back-pressure)."""
        self._wake.set()
        if self._thread is None:
            self._ensure_thread()
        with self._room:
            while len(self._queue) + needed > self.max_pending:
                if self._error is not None:
                    raise TrackingWriteError(
                        f"the tracking queue is full ({self.max_pending} rows) and the writer "
                        f"cannot write: {self._error}"
                    ) from self._error
                self._room.wait(timeout=0.5)
                self._wake.set()

    def _ensure_thread(self) -> None:
        with self._state_lock:
            if self._thread is not None:
                return
            self._closed = False
            thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
            self._thread = thread
            thread.start()

    def _loop(self) -> None:
        idle = 0.0
        while True:
            woke = self._wake.wait(self._flush_interval)
            self._wake.clear()
            if self._queue:
                idle = 0.0
                with self._io_lock:
                    while self._queue:
                        if not self._write_one_batch(raise_errors=False):
                            break
                if self._error is not None:
                    self._wake.wait(1.0)  # back off before retrying a failed batch
            elif not woke:
                idle += self._flush_interval
            if self._closed or idle >= _IDLE_EXIT_S:
                with self._state_lock:
                    self._thread = None
                    if not self._queue:
                        return
                    self._thread = threading.current_thread()

    def _drain_all(self) -> list[Item]:
        queue = self._queue
        items: list[Item] = []
        pop = queue.popleft
        while queue:
            try:
                items.append(pop())
            except IndexError:  # pragma: no cover - only the io_lock holder pops
                break
        self._notify_room()
        return items

    def _take_batch(self) -> list[Item]:
        queue = self._queue
        pop = queue.popleft
        batch: list[Item] = []
        for _ in range(min(self.batch_size, len(queue))):
            batch.append(pop())
        return batch

    def _write_one_batch(self, *, raise_errors: bool) -> bool:
        """Write one batch (caller holds the io lock); False when it failed and was requeued."""
        batch = self._take_batch()
        if not batch:
            return True
        pending = len(self._queue) + len(batch)
        if pending > self.peak_pending:
            self.peak_pending = pending
        try:
            self._persist(batch)
        except Exception as exc:
            self.requeue(batch)
            self._error = exc
            if raise_errors:
                if isinstance(exc, FalajError):
                    raise
                raise TrackingWriteError(
                    f"could not write {len(batch)} logged rows to the metadata store: {exc}"
                ) from exc
            _log.warning(
                "tracking writer: batch of %d rows failed, will retry: %s", len(batch), exc
            )
            return False
        self._error = None
        self.written += len(batch)
        self._notify_room()
        return True

    def _notify_room(self) -> None:
        with self._room:
            self._room.notify_all()


@atexit.register
def _flush_all_at_exit() -> None:
    """Interpreter exit: write what every live writer still holds."""
    for writer in list(_live_writers):
        try:
            writer.flush()
        except Exception as exc:  # exiting: report, never raise from atexit
            _log.error(
                "tracking writer: %d rows could not be written at exit: %s", writer.pending, exc
            )
