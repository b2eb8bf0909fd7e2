"""Which process is this, and is another one still alive? (Owners of runs left behind by a
process that was killed: tracking runs, pipeline runs.)"""

from __future__ import annotations

import os
import socket

__all__ = ["pid_alive", "process_alive", "this_process"]


def this_process() -> tuple[str, int]:
    """(host name, pid) of the calling process."""
    return socket.gethostname()[:255], os.getpid()


def pid_alive(pid: int) -> bool:
    """True when ``pid`` is a running (not zombie) process on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    except (OverflowError, OSError):
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS): kill(0) is all we know
    return state not in ("Z", "X")


def process_alive(host: str | None, pid: int | None) -> bool | None:
    """True/False for a process of this host; None when it cannot be told from here (another
    host, or nothing recorded)."""
    if host is None or pid is None or host != this_process()[0]:
        return None
    return pid_alive(pid)
