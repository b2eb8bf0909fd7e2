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

import ctypes
import hashlib
import os
import threading
from collections.abc import Callable
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
    #: False when ``known(digest)`` said the content is already stored: nothing was kept
    copied: bool = True


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
    src_fd: int,
    dst_fd: int,
    size: int,
    stop: threading.Event,
    errors: list[BaseException],
    writeback: bool,
) -> None:
    try:
        _copy_range(src_fd, dst_fd, size, stop, writeback)
    except BaseException as exc:  # reported by the caller's thread
        errors.append(exc)


def _start_writeback() -> Callable[[int, int, int], None]:
    """``sync_file_range(fd, offset, n, SYNC_FILE_RANGE_WRITE)`` where Linux has it, else no-op.

    It starts writing a copied range to disk without waiting, so the final ``fsync`` has little
    left to do: the disk works while the copy goes on.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.sync_file_range
    except (OSError, AttributeError):
        return lambda fd, offset, n: None
    call.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)

    def start(fd: int, offset: int, n: int) -> None:
        call(fd, offset, n, 2)  # SYNC_FILE_RANGE_WRITE; a failure leaves it to fsync

    return start


def _copy_range(
    src_fd: int, dst_fd: int, size: int, stop: threading.Event, writeback: bool
) -> None:
    flush = _start_writeback() if writeback else None
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
        if flush is not None:
            flush(dst_fd, offset, done)
        offset += done


def copy_hashing(
    source: str | Path,
    dest: str | Path,
    *,
    fsync: bool = False,
    known: Callable[[str], bool] | None = None,
) -> CopyResult:
    """Copy ``source`` to a new file ``dest`` while hashing it; (digest, size) of the bytes.

    With ``fsync`` the copy is on disk when this returns. When ``known(digest)`` is true once
    the hash is done, the copy is abandoned and ``dest`` removed (``copied=False``): storing
    identical content again costs about one hash. Raises :class:`SourceChangedError` (``dest``
    removed) when ``source`` was written to meanwhile; any error removes ``dest``.
    """
    src_fd = os.open(source, os.O_RDONLY)
    try:
        before = os.fstat(src_fd)
        dst_fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        stop = threading.Event()
        errors: list[BaseException] = []
        copier = threading.Thread(
            target=_kernel_copy,
            args=(src_fd, dst_fd, before.st_size, stop, errors, fsync),
            daemon=True,
        )
        ok = False
        try:
            copier.start()
            hashed = _hash_fd(src_fd)
            if known is not None and known(hashed.digest):
                stop.set()
                copier.join()
                return CopyResult(hashed.digest, hashed.size, copied=False)
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
