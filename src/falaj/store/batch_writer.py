"""The batched background writer: calls return at once, rows reach the store in batches.

Used by tracking (``log_metric``/``log_param``/``set_tag``) and by anything else that must record
many small rows without slowing its caller (the prediction log). :meth:`BatchWriter.submit`
appends a small tuple to an in-memory queue (a ``deque`` append, well under a microsecond); a
daemon thread wakes when a batch is full or every ``flush_interval`` seconds and hands up to
``batch_size`` rows at a time to ``persist`` (one transaction per batch).

Guarantees:

- **Bounded memory.** The queue holds at most ``max_pending`` rows (default: one batch); a caller
  that would exceed it blocks until the writer has made room (back-pressure).
- **Nothing lost on flush, close or exit.** :meth:`flush` writes everything submitted before it
  was called, on the caller's thread, before returning (and no more: other threads that keep
  logging cannot hold it there). When the first writer of a process
  starts, an ``atexit`` hook is registered that flushes every live writer (and runs its
  ``at_exit`` callback) when the interpreter exits normally.
- **Crash window.** A process that is killed (SIGKILL, power loss, ``os._exit``) loses the rows
  not yet committed: at most ``max_pending + batch_size`` rows (the queue plus the batch being
  written; 2,000 with the defaults), and in practice the rows logged since the last batch was
  committed (at most ``flush_interval`` seconds of logging, 0.5 s by default). Committed rows are
  durable.
- **One bad row never blocks the others.** A batch the store refuses for its content is split in
  halves until the offending rows are isolated; those are dropped (never retried), logged, and
  reported by the next :meth:`flush` as a ``error_class`` error naming them. A batch that fails
  because the backend is unavailable stays queued, in order, and is retried after a pause; the
  error is raised by the next :meth:`flush`.
- **No write inside a caller's transaction.** ``in_foreign_transaction`` (the store's
  ``in_transaction``) is asked before a flush on the caller's thread: flushing there would make
  the thread wait on a write lock it holds itself, so it is refused with a clear error.
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

from falaj.errors import BackendUnavailableError, ConflictError, FalajError

__all__ = ["DEFAULT_FLUSH_INTERVAL", "BatchWriteError", "BatchWriter", "Item"]

_log = logging.getLogger("falaj.writer")

#: One queued row: a tuple whose meaning belongs to the ``persist`` function.
Item = tuple[Any, ...]
Persist = Callable[[list[Item]], None]

DEFAULT_FLUSH_INTERVAL = 0.5
_IDLE_EXIT_S = 5.0
_MAX_REPORTED = 20


class BatchWriteError(BackendUnavailableError):
    """Queued rows could not be written (or were rejected by the store)."""


class _ExitHook:
    """Created (and registered with ``atexit``) when the first writer of a process starts."""

    _lock = threading.Lock()
    _instance: _ExitHook | None = None

    def __init__(self) -> None:
        self.writers: weakref.WeakSet[BatchWriter] = weakref.WeakSet()

    @classmethod
    def track(cls, writer: BatchWriter) -> None:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
                atexit.register(cls._instance.run)
            cls._instance.writers.add(writer)

    def run(self) -> None:
        """Interpreter exit: write what every live writer still holds."""
        for writer in list(self.writers):
            try:
                if writer.at_exit is not None:
                    writer.at_exit()
                writer.flush()
            except Exception as exc:  # exiting: report, never raise from atexit
                _log.error(
                    "batch writer %s: %d rows not written at exit: %s",
                    writer.name,
                    writer.pending,
                    exc,
                )


class BatchWriter:
    """A bounded queue of rows and the daemon thread that writes them in batches."""

    def __init__(
        self,
        persist: Persist,
        *,
        batch_size: int = 1000,
        max_pending: int | None = None,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        name: str = "falaj-writer",
        error_class: type[FalajError] = BatchWriteError,
        describe: Callable[[Item], str] = repr,
        in_foreign_transaction: Callable[[], bool] | None = None,
        at_exit: Callable[[], None] | None = None,
    ) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self._persist = persist
        self.batch_size = batch_size
        self.max_pending = max_pending if max_pending is not None else batch_size
        if self.max_pending < batch_size:
            raise ValueError("max_pending must be at least batch_size")
        self._flush_interval = flush_interval
        self.name = name
        self._error_class = error_class
        self._describe = describe
        self._in_foreign_transaction = in_foreign_transaction
        self.at_exit = at_exit
        self._queue: deque[Item] = deque()
        self._wake = threading.Event()
        self._room = threading.Condition(threading.Lock())
        self._io_lock = threading.RLock()
        self._state_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._rejected: list[tuple[Item, str]] = []
        self._closed = False
        self.written = 0
        self.rejected_total = 0
        self.peak_pending = 0

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
        """Write every row submitted before this call; raises if they cannot all be written."""
        if self._queue and self._in_foreign_transaction and self._in_foreign_transaction():
            raise ConflictError(
                f"{self.name}: cannot flush inside an open transaction of this thread (it would "
                "wait on its own write lock); gather first, then write"
            )
        with self._io_lock:
            # Rows queued before this call, FIFO: a producer that keeps logging meanwhile
            # cannot keep the caller here.
            remaining = len(self._queue)
            while remaining > 0 and self._queue:
                remaining -= self._write_one_batch(raise_errors=True, limit=remaining)
            self._error = None
            self._raise_rejected()

    @contextmanager
    def exclusive(self) -> Iterator[Callable[[], list[Item]]]:
        """Hold the writer still and get a ``drain()`` that takes every queued row, to write them
        inside another transaction (a run's end: one transaction for a short run). The caller
        owns the drained rows: if its transaction fails it must :meth:`requeue` them."""
        with self._io_lock:
            yield self._drain_all

    def requeue(self, items: list[Item]) -> None:
        """Put rows back at the front of the queue, in order (after a failed write)."""
        self._queue.extendleft(reversed(items))

    def _drain_all(self) -> list[Item]:
        items = list(self._queue)
        for _ in range(len(items)):
            self._queue.popleft()
        self._notify_room()
        return items

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
                    raise self._error_class(
                        f"the write queue of {self.name} is full ({self.max_pending} rows) and "
                        f"the writer cannot write: {self._error}"
                    ) from self._error
                self._room.wait(timeout=0.5)
                self._wake.set()

    def _ensure_thread(self) -> None:
        with self._state_lock:
            if self._thread is not None:
                return
            _ExitHook.track(self)
            self._closed = False
            thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
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
                    self._wake.wait(1.0)  # back off before retrying an unavailable backend
            elif not woke:
                idle += self._flush_interval
            if self._closed or idle >= _IDLE_EXIT_S:
                with self._state_lock:
                    self._thread = None
                    if not self._queue:
                        return
                    self._thread = threading.current_thread()

    def _take_batch(self, limit: int | None = None) -> list[Item]:
        queue = self._queue
        pop = queue.popleft
        size = self.batch_size if limit is None else min(self.batch_size, limit)
        return [pop() for _ in range(min(size, len(queue)))]

    def _write_one_batch(self, *, raise_errors: bool, limit: int | None = None) -> int:
        """Write one batch (caller holds the io lock); returns how many rows it took, 0 when
        the backend was unavailable and the batch went back to the front of the queue."""
        batch = self._take_batch(limit)
        if not batch:
            return 0
        pending = len(self._queue) + len(batch)
        if pending > self.peak_pending:
            self.peak_pending = pending
        try:
            self._persist(batch)
        except Exception as exc:
            if is_unavailable(exc):
                self._requeue(batch, exc, raise_errors=raise_errors)
                return 0
            self._isolate(batch)
        else:
            self.written += len(batch)
        self._error = None
        self._notify_room()
        return len(batch)

    def _requeue(self, batch: list[Item], exc: BaseException, *, raise_errors: bool) -> None:
        self.requeue(batch)
        self._error = exc
        if raise_errors:
            raise self._error_class(
                f"could not write {len(batch)} queued rows ({self.name}): {exc}"
            ) from exc
        _log.warning("%s: batch of %d rows failed, will retry: %s", self.name, len(batch), exc)

    def _isolate(self, batch: list[Item]) -> None:
        """The store refused the batch for its content: write what it accepts, halving until the
        rows it refuses are alone; those are dropped and reported."""
        if len(batch) == 1:
            try:
                self._persist(batch)
            except Exception as exc:
                self._reject(batch[0], exc)
            else:
                self.written += 1
            return
        middle = len(batch) // 2
        for half in (batch[:middle], batch[middle:]):
            try:
                self._persist(half)
            except Exception:
                self._isolate(half)
            else:
                self.written += len(half)

    def _reject(self, item: Item, exc: BaseException) -> None:
        self.rejected_total += 1
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
        _log.error("%s: row rejected and dropped: %s (%s)", self.name, self._describe(item), reason)
        if len(self._rejected) < _MAX_REPORTED:
            self._rejected.append((item, reason))

    def _raise_rejected(self) -> None:
        if not self._rejected:
            return
        rejected, self._rejected = self._rejected, []
        shown = "; ".join(f"{self._describe(item)}: {why}" for item, why in rejected[:5])
        raise self._error_class(
            f"{len(rejected)} logged row(s) were refused by the metadata store and dropped "
            f"(the other rows were written): {shown}"
        )

    def _notify_room(self) -> None:
        with self._room:
            self._room.notify_all()


def is_unavailable(exc: BaseException) -> bool:
    """Whether a failed write is worth retrying as is (the backend, not the rows, failed)."""
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

    if isinstance(exc, BatchWriteError):
        return False
    return isinstance(
        exc,
        BackendUnavailableError | OSError | OperationalError | InterfaceError | DisconnectionError,
    )
