"""Removing what killed processes leave behind: partial writes and scratch folders.

A process killed with ``kill -9`` runs no ``finally``: its ``artifacts/tmp/<uuid>`` file or its
``falaj-ingest-*`` scratch folder stays. Such an entry is recognised by age: nothing in it was
modified for :data:`STALE_AFTER_S` seconds. A live writer keeps touching its file while it
writes, so it is never taken for a leftover. "Now" is always passed in (tests inject a clock).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

__all__ = ["STALE_AFTER_S", "last_modified", "remove_stale_entries"]

#: an entry untouched for this long (seconds) is a leftover of a dead process
STALE_AFTER_S = 6 * 3600.0


def last_modified(path: Path) -> float:
    """The newest modification time of ``path`` and, for a folder, of everything inside it."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            for name in (*dirs, *files):
                with contextlib.suppress(FileNotFoundError):
                    newest = max(newest, Path(root, name).lstat().st_mtime)
    return newest


def remove_stale_entries(folder: Path, pattern: str, cutoff: float) -> list[str]:
    """Remove the entries of ``folder`` matching ``pattern`` last modified before ``cutoff``.

    Returns the names removed. An entry that vanishes or cannot be removed meanwhile (another
    process cleaning too, a permission problem) is skipped: cleaning is best effort.
    """
    removed: list[str] = []
    try:
        candidates = sorted(folder.glob(pattern))
    except OSError:
        return removed
    for entry in candidates:
        try:
            if last_modified(entry) >= cutoff:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue
        removed.append(entry.name)
    return removed
