"""Fast, verified copies on a local disk: the kernel copies while a second thread hashes.

sha256 runs at about the speed of a copy, so doing the two one after the other doubles the cost
of storing or reading back a file. Here the kernel copies (``copy_file_range``: no bytes pass
through Python) while another thread hashes the same file; both release the GIL. The copy is
the bytes that were hashed because the source is opened once and its ``(size, mtime_ns,
ctime_ns)`` is the same before and after: any write to it in between changes its ``ctime``
(which no user call can set back). When it changed, the caller falls back to streaming.

:func:`hash_file` alone is what storing identical content again costs: one read, no write.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CopyResult", "SourceChangedError", "copy_hashing", "fsync_dir", "hash_file"]

_STEP = 8 * 1024 * 1024


class SourceChangedError(Exception):
    """The source file was written to while it was copied; stream it instead."""


@dataclass(frozen=True)
class CopyResult:
    digest: str
    size: int


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def hash_file(path: str | Path) -> CopyResult:
    """The sha256 and size of a local file, read in large chunks (the GIL is released)."""
    hasher = hashlib.sha256()
    size = 0
    buf = bytearray(_STEP)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            hasher.update(view[:n])
            size += n
    return CopyResult(hasher.hexdigest(), size)


def _kernel_copy(
    src_fd: int, dst_fd: int, size: int, stop: threading.Event, errors: list[BaseException]
) -> None:
    try:
        _copy_range(src_fd, dst_fd, size, stop)
    except BaseException as exc:  # reported by the caller's thread
        errors.append(exc)


def _copy_range(src_fd: int, dst_fd: int, size: int, stop: threading.Event) -> None:
    offset = 0
    use_kernel = hasattr(os, "copy_file_range")
    while offset < size and not stop.is_set():
        step = min(_STEP, size - offset)
        if use_kernel:
            try:
                done = os.copy_file_range(src_fd, dst_fd, step, offset, offset)
            except OSError:  # another filesystem, or no kernel support: copy by hand
                use_kernel = False
                continue
        else:
            data = os.pread(src_fd, step, offset)
            done = os.pwrite(dst_fd, data, offset) if data else 0
        if done == 0:
            break  # the source shrank; the identity check reports it
        offset += done


def copy_hashing(source: str | Path, dest: str | Path, *, fsync: bool = False) -> CopyResult:
    """Copy ``source`` to a new file ``dest`` while hashing it; (digest, size) of the bytes.

    With ``fsync`` the copy is on disk when this returns. Raises :class:`SourceChangedError`
    (``dest`` removed) when ``source`` was written to meanwhile; any error removes ``dest``.
    """
    src_fd = os.open(source, os.O_RDONLY)
    try:
        before = os.fstat(src_fd)
        dst_fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        stop = threading.Event()
        errors: list[BaseException] = []
        copier = threading.Thread(
            target=_kernel_copy, args=(src_fd, dst_fd, before.st_size, stop, errors), daemon=True
        )
        ok = False
        try:
            copier.start()
            hashed = _hash_fd(src_fd)
            copier.join()
            if errors:
                raise errors[0]
            if _identity(os.fstat(src_fd)) != _identity(before) or hashed.size != before.st_size:
                raise SourceChangedError(str(source))
            if os.fstat(dst_fd).st_size != hashed.size:
                raise SourceChangedError(str(source))
            if fsync:
                os.fsync(dst_fd)
            ok = True
            return hashed
        finally:
            stop.set()
            copier.join()
            os.close(dst_fd)
            if not ok:
                Path(dest).unlink(missing_ok=True)
    finally:
        os.close(src_fd)


def _hash_fd(fd: int) -> CopyResult:
    hasher = hashlib.sha256()
    size = 0
    offset = 0
    buf = bytearray(_STEP)
    view = memoryview(buf)
    while n := os.preadv(fd, [buf], offset):
        hasher.update(view[:n])
        size += n
        offset += n
    return CopyResult(hasher.hexdigest(), size)


def fsync_dir(path: str | Path) -> None:
    """fsync a folder so a rename into it survives a power loss (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on a folder; nothing more can be done
        pass
    finally:
        os.close(fd)
