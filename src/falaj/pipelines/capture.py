"""Per-step capture of stdout, stderr and logging, safe with steps running in threads.

While any capture is active, ``sys.stdout``/``sys.stderr`` are routers that send each write to
the buffer of the thread that made it (or to the original stream when that thread captures
nothing); a logging handler on the root logger does the same for log records.

With a ``spool`` path, every captured write is also appended (and flushed) to that file, so the
coordinator can store the logs of a step while it runs, and a killed step keeps what it printed.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["capture_output"]

_local = threading.local()
_lock = threading.Lock()
_active = 0
_saved: tuple[TextIO, TextIO] | None = None
_handler: _ThreadHandler | None = None


class _Router(io.TextIOBase):
    def __init__(self, fallback: TextIO) -> None:
        self._fallback = fallback

    def write(self, text: str) -> int:
        buffer: io.StringIO | None = getattr(_local, "buffer", None)
        if buffer is None:
            return self._fallback.write(text)
        return buffer.write(text)

    def flush(self) -> None:
        if getattr(_local, "buffer", None) is None:
            self._fallback.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fallback, name)


class _ThreadHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        buffer: io.StringIO | None = getattr(_local, "buffer", None)
        if buffer is None:
            return
        try:
            buffer.write(self.format(record) + "\n")
        except Exception:  # pragma: no cover - a broken record must not kill the step
            self.handleError(record)


def _install() -> None:
    global _active, _saved, _handler
    with _lock:
        _active += 1
        if _active > 1:
            return
        _saved = (sys.stdout, sys.stderr)
        sys.stdout = _Router(sys.stdout)
        sys.stderr = _Router(sys.stderr)
        _handler = _ThreadHandler()
        _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(_handler)


def _uninstall() -> None:
    global _active, _saved, _handler
    with _lock:
        _active -= 1
        if _active > 0:
            return
        if _saved is not None:
            sys.stdout, sys.stderr = _saved
            _saved = None
        if _handler is not None:
            logging.getLogger().removeHandler(_handler)
            _handler = None


class _SpooledBuffer(io.StringIO):
    """A StringIO that also appends every write to a file, flushed at once."""

    def __init__(self, spool: TextIO) -> None:
        super().__init__()
        self._spool = spool

    def write(self, text: str) -> int:
        n = super().write(text)
        try:
            self._spool.write(text)
            self._spool.flush()
        except (OSError, ValueError):  # a full disk must not kill the step; the end has it all
            pass
        return n


@contextmanager
def capture_output(spool: str | None = None) -> Iterator[io.StringIO]:
    """Capture this thread's stdout, stderr and log records into the yielded buffer.

    ``spool``: a file every write is also appended to as it happens.
    """
    spool_file = open(spool, "a", encoding="utf-8") if spool else None  # noqa: SIM115
    buffer: io.StringIO = io.StringIO() if spool_file is None else _SpooledBuffer(spool_file)
    _install()
    previous = getattr(_local, "buffer", None)
    _local.buffer = buffer
    try:
        yield buffer
    finally:
        _local.buffer = previous
        _uninstall()
        if spool_file is not None:
            spool_file.close()
