"""Is the process that ran a run still alive? (For runs left RUNNING by a killed process.)"""

from __future__ import annotations

import os

from falaj.tracking.rows import process_host

__all__ = ["process_alive"]


def process_alive(host: str | None, pid: int | None) -> bool | None:
    """True/False for a process on this host; None when it cannot be told from here (another
    host, or a run recorded before hosts were)."""
    if host is None or pid is None or host != process_host():
        return None
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True
