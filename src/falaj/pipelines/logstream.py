"""Streaming the logs of running steps into the store, so a killed step keeps what it printed.

Each running step attempt appends its captured output to a spool file (see
:func:`~falaj.pipelines.capture.capture_output`). A daemon thread of the coordinator looks at
the spool files every ``interval_s`` seconds and, for each one that grew, stores its content as
an artifact and points the step run (written RUNNING when the step started) at it. The final
logs replace these when the step ends. A process killed with ``kill -9`` therefore leaves a
RUNNING step run whose logs are at most ``interval_s`` seconds behind.

Spool files live in a ``falaj-steplogs-*`` scratch folder; one left by a killed coordinator is
removed by age when the pipelines service next opens.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Protocol

__all__ = ["SPOOL_PREFIX", "LogStreamer", "clean_stale_spools"]

SPOOL_PREFIX = "falaj-steplogs-"
_log = logging.getLogger(__name__)


def clean_stale_spools(now: float, stale_after_s: float, folder: Path | None = None) -> list[str]:
    """Remove ``falaj-steplogs-*`` folders of killed coordinators untouched for a while."""
    from falaj.artifacts.housekeeping import remove_stale_entries

    base = Path(tempfile.gettempdir()) if folder is None else folder
    return remove_stale_entries(base, f"{SPOOL_PREFIX}*", now - stale_after_s)


class _Recorder(Protocol):
    def record_logs(self, step_run_id: str, logs: bytes) -> bool: ...


class LogStreamer:
    """Spool files per step run, and the thread that stores them while steps run."""

    def __init__(self, recorder: _Recorder, *, interval_s: float = 2.0) -> None:
        self._recorder = recorder
        self._interval_s = interval_s
        self._folder = Path(tempfile.mkdtemp(prefix=SPOOL_PREFIX))
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="falaj-steplogs", daemon=True)
        self._thread.start()

    def spool_for(self, step_run_id: str) -> str:
        """The spool file of a step run (watched from now on)."""
        path = self._folder / f"{step_run_id}.log"
        path.touch()
        with self._lock:
            self._sizes.setdefault(step_run_id, 0)
        return str(path)

    def finished(self, step_run_id: str) -> None:
        """Stop watching a step run (its final logs are recorded with its outcome)."""
        with self._lock:
            self._sizes.pop(step_run_id, None)

    def flush(self) -> None:
        """Store the logs of every watched step run that grew since the last look."""
        with self._lock:
            watched = dict(self._sizes)
        for step_run_id, seen in watched.items():
            path = self._folder / f"{step_run_id}.log"
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if len(data) == seen:
                continue
            try:
                still_running = self._recorder.record_logs(step_run_id, data)
            except Exception as exc:  # the step goes on; its final logs are recorded at the end
                _log.warning("could not store the logs of step run %s: %s", step_run_id, exc)
                continue
            with self._lock:
                if step_run_id in self._sizes:
                    if still_running:
                        self._sizes[step_run_id] = len(data)
                    else:
                        del self._sizes[step_run_id]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        shutil.rmtree(self._folder, ignore_errors=True)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.flush()
