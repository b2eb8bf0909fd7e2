"""Who is executing a pipeline run: host, pid and a heartbeat, and whether that owner is alive.

A run records the process executing it (``owner_host``, ``owner_pid``) and a heartbeat thread
refreshes ``heartbeat_at`` while its steps run. ``resume(force=True)`` takes over a RUNNING run
only when its owner is gone:

- same host: the owner's pid is no longer a live process (a zombie counts as gone);
- another host: the heartbeat is older than ``stale_after`` (the pid means nothing here).

The take-over is a compare-and-set on the owner columns, so two processes resuming the same
dead run at once cannot both win. Heartbeats are bookkeeping of the machinery, not user actions:
they are not audited (the resume that changes owner is).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from falaj.processes import pid_alive, this_process

__all__ = ["Heartbeat", "RunOwner", "driving", "liveness", "pid_alive", "this_process"]

_log = logging.getLogger(__name__)

# The runs this process is executing right now. A process-wide fact (several workspaces in one
# process share it), so it lives at module level, guarded by a lock.
_DRIVING: set[str] = set()
_DRIVING_LOCK = threading.Lock()


@dataclass(frozen=True)
class RunOwner:
    host: str | None
    pid: int | None
    heartbeat_at: dt.datetime | None


def liveness(
    owner: RunOwner,
    *,
    host: str,
    now: dt.datetime,
    stale_after: dt.timedelta,
    is_alive: Callable[[int], bool] = pid_alive,
) -> str | None:
    """Why the owner counts as alive (a phrase for an error message), or None when it is gone."""
    if owner.host is None or owner.pid is None:
        return None  # recorded before owners were (p0002): nothing to protect
    if owner.host == host:
        return (
            f"process {owner.pid} on this host ({host}) is alive" if is_alive(owner.pid) else None
        )
    if owner.heartbeat_at is None:
        return None
    age = now - owner.heartbeat_at
    if age < stale_after:
        seconds, limit = max(age.total_seconds(), 0), stale_after.total_seconds()
        return (
            f"process {owner.pid} on host {owner.host} sent a heartbeat {seconds:.0f} s ago "
            f"(stale after {limit:.0f} s)"
        )
    return None


def driving(run_id: str) -> bool:
    """True while this process executes ``run_id`` (inside a :class:`Heartbeat` for it)."""
    with _DRIVING_LOCK:
        return run_id in _DRIVING


class Heartbeat:
    """A daemon thread calling ``beat()`` every ``interval`` seconds until the block ends.

    While the block runs, :func:`driving` reports ``run_id`` as executed by this process.
    ``interval=None`` registers the run without beating (an in-memory database, whose single
    shared connection another thread must not use, and that no other process can see).
    """

    def __init__(self, run_id: str, beat: Callable[[], None], interval: float | None) -> None:
        self._run_id = run_id
        self._beat = beat
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="falaj-heartbeat", daemon=True)

    def _loop(self) -> None:
        if self._interval is None:  # nobody else can see this database: nothing to tell
            return
        while not self._stop.wait(self._interval):
            try:
                self._beat()
            except Exception:  # a missed beat must not kill the run; the next one may work
                _log.warning("pipeline heartbeat failed", exc_info=True)

    def __enter__(self) -> Heartbeat:
        with _DRIVING_LOCK:
            _DRIVING.add(self._run_id)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        with _DRIVING_LOCK:
            _DRIVING.discard(self._run_id)
