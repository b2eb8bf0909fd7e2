"""Content-addressed object storage over any fsspec filesystem (local folder, memory, S3).

Objects live at ``<root>/objects/sha256/<2 hex>/<62 hex>``. Writes stream in chunks into a
temporary key while hashing, then move into place: a reader never sees a half-written object,
and identical content is stored once. Every read checks the digest (and size) of what it
returns; a truncated or altered object raises :class:`~falaj.errors.IntegrityError`.
S3-compatible stores take their endpoint and credentials from the usual AWS variables or
``FSSPEC_S3_*`` (e.g. ``FSSPEC_S3_ENDPOINT_URL``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import fsspec
from fsspec.implementations.local import LocalFileSystem

from falaj.artifacts.digest import normalize_digest
from falaj.artifacts.housekeeping import STALE_AFTER_S, remove_stale_entries
from falaj.artifacts.localcopy import SourceChangedError, copy_hashing, fsync_dir, hash_file
from falaj.errors import BackendUnavailableError, ConfigError, IntegrityError, NotFoundError

__all__ = ["CHUNK_SIZE", "ObjectStore", "ObjectStoreProtocol", "VerifyingReader", "WriteResult"]

CHUNK_SIZE = 8 * 1024 * 1024


class WriteResult(tuple[str, int, bool]):
    """(digest, size, created): ``created`` is False when the content was already stored."""

    @property
    def digest(self) -> str:
        return self[0]

    @property
    def size(self) -> int:
        return self[1]

    @property
    def created(self) -> bool:
        return self[2]


class ObjectStoreProtocol(Protocol):
    """What an artifact backend provides; every backend passes tests/contract/."""

    uri: str

    def write_stream(self, stream: BinaryIO) -> WriteResult: ...

    def exists(self, digest: str) -> bool: ...

    def read_bytes(self, digest: str, *, expected_size: int | None = None) -> bytes: ...

    def open(self, digest: str, *, expected_size: int | None = None) -> BinaryIO: ...

    def delete(self, digest: str) -> None: ...


class VerifyingReader(io.RawIOBase):
    """Streams an object and raises :class:`IntegrityError` at the end if it is not intact.

    The check happens before end-of-file is reported, so a consumer that reads to the end never
    mistakes a damaged object for a complete one.
    """

    def __init__(self, raw: Any, digest: str, expected_size: int | None) -> None:
        self._raw = raw
        self._digest = digest
        self._expected_size = expected_size
        self._hash = hashlib.sha256()
        self._size = 0
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        data = self._raw.read(len(view))
        if not data:
            self._finish()
            return 0
        self._hash.update(data)
        self._size += len(data)
        if self._expected_size is not None and self._size > self._expected_size:
            raise IntegrityError(
                f"object {self._digest} is larger than its recorded size {self._expected_size}"
            )
        view[: len(data)] = data
        return len(data)

    def _finish(self) -> None:
        if self._checked:
            return
        self._checked = True
        _check(self._digest, self._hash.hexdigest(), self._size, self._expected_size)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def _check(digest: str, actual: str, size: int, expected_size: int | None) -> None:
    if expected_size is not None and size != expected_size:
        raise IntegrityError(
            f"object {digest} is damaged: {size} bytes stored, {expected_size} recorded "
            "(truncated or appended to)"
        )
    if actual != digest:
        raise IntegrityError(f"object {digest} is damaged: its content hashes to {actual}")


class ObjectStore:
    """Content-addressed bytes at ``uri`` (``file://``, ``memory://``, ``s3://``...)."""

    def __init__(
        self,
        uri: str,
        *,
        clock: Callable[[], float] = time.time,
        stale_after_s: float = STALE_AFTER_S,
        **storage_options: Any,
    ) -> None:
        """Open the store; a local one first removes temporaries older than ``stale_after_s``.

        Those are writes that a killed process left in ``tmp/``; ``clock`` gives "now" in epoch
        seconds (injected by tests).
        """
        try:
            fs, root = fsspec.core.url_to_fs(uri, **storage_options)
        except (ImportError, ValueError) as exc:
            protocol = uri.split("://", 1)[0] if "://" in uri else "file"
            hint = " (pip install 'falaj[s3]')" if protocol in ("s3", "s3a") else ""
            raise ConfigError(f"artifact_uri {uri!r} cannot be used: {exc}{hint}") from exc
        self.uri = uri
        self._fs = fs
        self._root = root.rstrip("/")
        self._local = isinstance(fs, LocalFileSystem)
        self._clock = clock
        self._stale_after_s = stale_after_s
        if self._local:
            Path(self._root, "tmp").mkdir(parents=True, exist_ok=True)
            self.clean_temporaries()

    @property
    def clock(self) -> Callable[[], float]:
        """The clock (epoch seconds) this store judges ages by."""
        return self._clock

    @property
    def stale_after_s(self) -> float:
        return self._stale_after_s

    @property
    def is_local(self) -> bool:
        return self._local

    def path_of(self, digest: str) -> str:
        d = normalize_digest(digest)
        return f"{self._root}/objects/sha256/{d[:2]}/{d[2:]}"

    # -- writing -------------------------------------------------------------------------------
    def write_stream(self, stream: BinaryIO) -> WriteResult:
        """Store everything ``stream`` yields, in chunks; returns (digest, size, created)."""
        tmp = self._tmp_path()
        hasher = hashlib.sha256()
        size = 0
        with _translate(self.uri):
            try:
                with self._fs.open(tmp, "wb") as out:
                    while chunk := stream.read(CHUNK_SIZE):
                        hasher.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                    digest = hasher.hexdigest()
                    known = self._fs.exists(self.path_of(digest))
                    if self._local and not known:
                        out.flush()
                        os.fsync(out.fileno())
                if known:
                    self._fs.rm(tmp)
                    self._touch(digest)
                    return WriteResult((digest, size, False))
                return self._move_into_place(tmp, digest, size)
            except BaseException:
                if self._fs.exists(tmp):
                    self._fs.rm(tmp)
                raise

    def write_bytes(self, data: bytes) -> WriteResult:
        return self.write_stream(io.BytesIO(data))

    def write_file(self, path: str | Path, *, likely_new: bool = False) -> WriteResult:
        """Store a file. Identical content already stored costs one read of the file (a hash).

        Locally the kernel copies while the file is hashed. ``likely_new`` (the caller knows no
        stored object has this size) starts the copy at once; otherwise the file is hashed
        first and copied only if its content is new.
        """
        source = Path(path)
        if not source.is_file():
            raise NotFoundError(f"file {source} does not exist or is not a regular file")
        if self._local:
            with _translate(self.uri):
                try:
                    return self._write_local_file(source, likely_new)
                except SourceChangedError:
                    pass  # written to while we copied it: stream what it holds now
        with source.open("rb") as fh:
            return self.write_stream(fh)

    def _write_local_file(self, source: Path, likely_new: bool) -> WriteResult:
        def stored(digest: str) -> bool:
            return Path(self.path_of(digest)).exists()

        if not likely_new:
            seen = hash_file(source)
            if stored(seen.digest):
                self._touch(seen.digest)
                return WriteResult((seen.digest, seen.size, False))
        tmp = self._tmp_path()
        try:
            copied = copy_hashing(source, tmp, fsync=True, known=stored)
            if not copied.copied or stored(copied.digest):
                self._touch(copied.digest)  # already stored (maybe meanwhile, by another writer)
                return WriteResult((copied.digest, copied.size, False))
            return self._move_into_place(tmp, copied.digest, copied.size)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def _tmp_path(self) -> str:
        return f"{self._root}/tmp/{uuid.uuid4().hex}"

    def _move_into_place(self, tmp: str, digest: str, size: int) -> WriteResult:
        final = self.path_of(digest)
        parent = final.rsplit("/", 1)[0]
        if self._local:
            created = not Path(parent).is_dir()
            Path(parent).mkdir(parents=True, exist_ok=True)
            if created:  # a new fan-out folder must itself survive a power loss
                fsync_dir(Path(parent).parent)
            Path(tmp).replace(final)  # atomic rename on one filesystem
            fsync_dir(parent)  # the rename is durable only once its folder is
        else:
            self._fs.makedirs(parent, exist_ok=True)
            self._fs.mv(tmp, final)  # object stores: server-side copy, atomic per key
        return WriteResult((digest, size, True))

    def _touch(self, digest: str) -> None:
        """Mark a re-stored object as fresh, so ``gc`` does not take it for an old orphan."""
        if self._local:
            with contextlib.suppress(FileNotFoundError):
                os.utime(self.path_of(digest))

    # -- reading -------------------------------------------------------------------------------
    def exists(self, digest: str) -> bool:
        with _translate(self.uri):
            return bool(self._fs.exists(self.path_of(digest)))

    def open(self, digest: str, *, expected_size: int | None = None) -> BinaryIO:
        """A stream of the object that raises :class:`IntegrityError` at the end if damaged."""
        d = normalize_digest(digest)
        with _translate(self.uri):
            try:
                raw = self._fs.open(self.path_of(d), "rb")
            except FileNotFoundError:
                raise NotFoundError(f"artifact {d} is not in the store {self.uri}") from None
        reader = VerifyingReader(raw, d, expected_size)
        return io.BufferedReader(reader, buffer_size=CHUNK_SIZE)

    def read_bytes(self, digest: str, *, expected_size: int | None = None) -> bytes:
        """The whole object, returned only after its digest checks out."""
        with self.open(digest, expected_size=expected_size) as fh:
            return fh.read()

    def copy_to(self, digest: str, dest: str | Path, *, expected_size: int | None = None) -> Path:
        """Write the object to ``dest`` atomically; ``dest`` appears only if the digest checks."""
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            if not (self._local and self._copy_local(digest, tmp, expected_size)):
                with self.open(digest, expected_size=expected_size) as src, tmp.open("wb") as out:
                    shutil.copyfileobj(src, out, CHUNK_SIZE)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def _copy_local(self, digest: str, tmp: Path, expected_size: int | None) -> bool:
        """Kernel copy + concurrent hash of a local object; False: stream it instead."""
        d = normalize_digest(digest)
        with _translate(self.uri):
            try:
                copied = copy_hashing(self.path_of(d), tmp)
            except FileNotFoundError:
                if Path(self.path_of(d)).exists():
                    raise
                raise NotFoundError(f"artifact {d} is not in the store {self.uri}") from None
            except SourceChangedError:
                tmp.unlink(missing_ok=True)
                return False
        try:
            _check(d, copied.digest, copied.size, expected_size)
        except IntegrityError:
            tmp.unlink(missing_ok=True)
            raise
        return True

    @contextmanager
    def local_path(self, digest: str, *, expected_size: int | None = None) -> Iterator[Path]:
        """A verified local file holding the object (a temporary copy for remote stores)."""
        import tempfile

        with tempfile.TemporaryDirectory(prefix="falaj-") as tmpdir:
            yield self.copy_to(
                digest, Path(tmpdir) / normalize_digest(digest), expected_size=expected_size
            )

    def verify(self, digest: str, *, expected_size: int | None = None) -> None:
        """Read the whole object; raises :class:`IntegrityError` if damaged."""
        with self.open(digest, expected_size=expected_size) as fh:
            while fh.read(CHUNK_SIZE):
                pass

    def size(self, digest: str) -> int:
        with _translate(self.uri):
            try:
                return int(self._fs.size(self.path_of(digest)))
            except FileNotFoundError:
                raise NotFoundError(f"artifact {digest} is not in the store {self.uri}") from None

    def delete(self, digest: str) -> None:
        with _translate(self.uri):
            path = self.path_of(digest)
            if self._fs.exists(path):
                self._fs.rm(path)

    def clean_temporaries(self, *, now: float | None = None) -> list[str]:
        """Remove ``tmp/`` entries untouched for ``stale_after_s`` (left by killed writers).

        A write in progress keeps its file's modification time fresh, so it is never taken.
        Local stores only (object stores expire partial uploads with a lifecycle rule).
        """
        if not self._local:
            return []
        current = self._clock() if now is None else now
        return remove_stale_entries(Path(self._root, "tmp"), "*", current - self._stale_after_s)

    def modified_at(self, digest: str) -> float:
        """When the object was last stored or re-stored (epoch seconds)."""
        with _translate(self.uri):
            try:
                info = self._fs.info(self.path_of(digest))
            except FileNotFoundError:
                raise NotFoundError(f"artifact {digest} is not in the store {self.uri}") from None
        stamp = info.get("mtime", info.get("LastModified", info.get("created")))
        if hasattr(stamp, "timestamp"):
            return float(stamp.timestamp())
        return float(stamp) if stamp is not None else self._clock()

    def iter_digests(self) -> Iterator[str]:
        """Every digest present in the store (walks the object tree)."""
        with _translate(self.uri):
            base = f"{self._root}/objects/sha256"
            if not self._fs.exists(base):
                return
            for path in self._fs.find(base):
                parts = str(path).rstrip("/").split("/")
                candidate = parts[-2] + parts[-1]
                if len(candidate) == 64:
                    yield candidate


@contextmanager
def _translate(uri: str) -> Iterator[None]:
    try:
        yield
    except (NotFoundError, IntegrityError):
        raise
    except PermissionError as exc:
        raise BackendUnavailableError(f"artifact store {uri}: permission denied ({exc})") from exc
    except (ConnectionError, TimeoutError) as exc:
        raise BackendUnavailableError(f"artifact store {uri} is unreachable: {exc}") from exc
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise NotFoundError(f"artifact store {uri}: {exc}") from exc
        raise BackendUnavailableError(f"artifact store {uri}: {exc}") from exc
