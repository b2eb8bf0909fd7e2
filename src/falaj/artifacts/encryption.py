"""Encryption at rest: envelope encryption of every stored object, streamed in segments.

Each object gets a fresh 256-bit data key; its bytes are cut into 1 MiB segments, each sealed
with AES-256-GCM under its own random nonce. A segment's associated data is the format tag, its
index and a final flag, so reordering, dropping or appending segments, or cutting the object
short, fails authentication. Writers and readers hold one segment at a time: a 10 GB artifact
never sits whole in memory.

The data key is stored wrapped by a master key (:class:`~falaj.governance.kms.KeyProvider`: key
files in the workspace, or a KMS/HSM plugin) in a small key record beside the object
(``keys/sha256/<2 hex>/<62 hex>``), not inside it, so

- ``falaj keys rotate`` re-wraps every data key under a new master key without touching the
  encrypted data, and
- removing the key record (one object) or destroying a master key (everything it wrapped)
  makes the ciphertext unreadable for good: crypto-shredding for erasure requests, backups
  of the object files included.

Objects stay addressed by the sha256 of their *plaintext* (deduplication and the "nothing reads
bytes without checking the digest" rule are kept: every read is decrypted, then re-hashed). What
that leaks: whoever can list the store learns the digests, sizes and write times of the objects,
so they can confirm whether a file they already hold is stored (confirmation of a file), and
which objects are identical. They learn nothing else about content they do not already have.

A store that turns encryption on keeps reading the plaintext objects it held before (an object
with no key record and without the encrypted header is plaintext); writing such content again
stores it encrypted.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import struct
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from falaj.artifacts.digest import normalize_digest
from falaj.artifacts.localcopy import fsync_dir
from falaj.artifacts.objects import (
    CHUNK_SIZE,
    ObjectStore,
    VerifyingReader,
    WriteResult,
    _translate,
)
from falaj.errors import IntegrityError, NotFoundError
from falaj.governance.kms import KeyProvider

__all__ = ["MAGIC", "SEGMENT_SIZE", "EncryptedObjectStore", "KeyShreddedError", "RewrapReport"]

MAGIC = b"FALAJ-AEAD-1\n"
SEGMENT_SIZE = 1024 * 1024
_NONCE = 12
_TAG = 16
_HEAD = struct.Struct(">BI")  # final flag, ciphertext length
_KEY_FORMAT = "falaj-dek/1"


class KeyShreddedError(IntegrityError):
    """The object's data key was shredded: its bytes can no longer be read."""


def _aad(index: int, final: bool) -> bytes:
    return MAGIC + struct.pack(">QB", index, 1 if final else 0)


class _SegmentWriter:
    """Buffers plaintext and writes sealed segments to ``out``."""

    def __init__(self, data_key: bytes, out: Any) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(data_key)
        self._out = out
        self._buffer = bytearray()
        self._index = 0
        out.write(MAGIC)

    def write(self, data: bytes) -> None:
        self._buffer += data
        # keep at least one byte back, so the last segment is always sealed as final
        while len(self._buffer) > SEGMENT_SIZE:
            self._seal(bytes(self._buffer[:SEGMENT_SIZE]), final=False)
            del self._buffer[:SEGMENT_SIZE]

    def close(self) -> None:
        self._seal(bytes(self._buffer), final=True)
        self._buffer.clear()

    def _seal(self, plain: bytes, *, final: bool) -> None:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, plain, _aad(self._index, final))
        self._out.write(_HEAD.pack(1 if final else 0, len(sealed)) + nonce + sealed)
        self._index += 1


class _DecryptingReader:
    """Reads sealed segments from ``raw`` and returns plaintext; refuses anything not intact."""

    def __init__(self, raw: Any, data_key: bytes, digest: str) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._raw = raw
        self._aead = AESGCM(data_key)
        self._digest = digest
        self._index = 0
        self._buffer = b""
        self._done = False
        magic = raw.read(len(MAGIC))
        if magic != MAGIC:
            raise IntegrityError(f"object {digest} is damaged: not an encrypted Falaj object")

    def _exactly(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            part = self._raw.read(n - len(out))
            if not part:
                break
            out += part
        return bytes(out)

    def _next(self) -> None:
        from cryptography.exceptions import InvalidTag

        head = self._exactly(_HEAD.size)
        if len(head) < _HEAD.size:
            raise IntegrityError(
                f"object {self._digest} is damaged: it ends before its final segment (truncated)"
            )
        final, length = _HEAD.unpack(head)
        if length > SEGMENT_SIZE + _TAG or final not in (0, 1):
            raise IntegrityError(f"object {self._digest} is damaged: bad segment header")
        body = self._exactly(_NONCE + length)
        if len(body) < _NONCE + length:
            raise IntegrityError(
                f"object {self._digest} is damaged: a segment is cut short (truncated)"
            )
        try:
            self._buffer = self._aead.decrypt(
                body[:_NONCE], body[_NONCE:], _aad(self._index, bool(final))
            )
        except InvalidTag:
            raise IntegrityError(
                f"object {self._digest} is damaged: segment {self._index} fails authentication "
                "(altered, reordered or spliced)"
            ) from None
        self._index += 1
        if final:
            self._done = True
            if self._raw.read(1):
                raise IntegrityError(
                    f"object {self._digest} is damaged: bytes follow its final segment"
                )

    def read(self, n: int = -1) -> bytes:
        out = bytearray()
        while n < 0 or len(out) < n:
            if not self._buffer:
                if self._done:
                    break
                self._next()
                continue
            take = len(self._buffer) if n < 0 else min(n - len(out), len(self._buffer))
            out += self._buffer[:take]
            self._buffer = self._buffer[take:]
        return bytes(out)

    def close(self) -> None:
        self._raw.close()


class RewrapReport(tuple[int, int, list[str]]):
    """(rewrapped, already current, unreadable digests)."""

    @property
    def rewrapped(self) -> int:
        return self[0]

    @property
    def current(self) -> int:
        return self[1]

    @property
    def unreadable(self) -> list[str]:
        return self[2]


class EncryptedObjectStore(ObjectStore):
    """An :class:`ObjectStore` whose objects are envelope-encrypted (module docstring)."""

    def __init__(self, uri: str, *, keys: KeyProvider, **kwargs: Any) -> None:
        super().__init__(uri, **kwargs)
        self._keys = keys

    @property
    def encrypted(self) -> bool:
        return True

    @property
    def keys(self) -> KeyProvider:
        return self._keys

    def key_path_of(self, digest: str) -> str:
        d = normalize_digest(digest)
        return f"{self._root}/keys/sha256/{d[:2]}/{d[2:]}"

    # -- key records ---------------------------------------------------------------------------
    def _context(self, digest: str) -> bytes:
        return f"{_KEY_FORMAT}:sha256:{digest}".encode("ascii")

    def _write_key(self, digest: str, data_key: bytes) -> None:
        key_id, wrapped = self._keys.wrap(data_key, self._context(digest))
        self._put_key_record(digest, key_id, wrapped)

    def _put_key_record(self, digest: str, key_id: str, wrapped: bytes) -> None:
        record = {
            "format": _KEY_FORMAT,
            "alg": "AES-256-GCM",
            "segment": SEGMENT_SIZE,
            "kek": key_id,
            "wrapped": base64.b64encode(wrapped).decode("ascii"),
        }
        final = self.key_path_of(digest)
        tmp = self._tmp_path()
        body = json.dumps(record).encode("utf-8")
        parent = final.rsplit("/", 1)[0]
        if self._local:  # a lost key record loses its object: durable before the object is
            with open(tmp, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            created = not Path(parent).is_dir()
            Path(parent).mkdir(parents=True, exist_ok=True)
            if created:
                fsync_dir(Path(parent).parent)
            Path(tmp).replace(final)
            fsync_dir(parent)
            return
        with self._fs.open(tmp, "wb") as fh:
            fh.write(body)
        self._fs.makedirs(parent, exist_ok=True)
        self._fs.mv(tmp, final)

    def _key_record(self, digest: str) -> dict[str, Any] | None:
        try:
            with self._fs.open(self.key_path_of(digest), "rb") as fh:
                record: dict[str, Any] = json.loads(fh.read())
        except FileNotFoundError:
            return None
        return record

    def _data_key(self, digest: str, record: dict[str, Any]) -> bytes:
        wrapped = base64.b64decode(record["wrapped"])
        return self._keys.unwrap(str(record["kek"]), wrapped, self._context(digest))

    def is_encrypted_object(self, digest: str) -> bool:
        """Whether the stored bytes are an encrypted object (with or without a key record)."""
        with (
            _translate(self.uri),
            self._fs.open(self.path_of(normalize_digest(digest)), "rb") as fh,
        ):
            return bool(fh.read(len(MAGIC)) == MAGIC)

    def key_id_of(self, digest: str) -> str | None:
        """The master key wrapping the object's data key (None: plaintext or shredded)."""
        record = self._key_record(normalize_digest(digest))
        return None if record is None else str(record["kek"])

    # -- writing -------------------------------------------------------------------------------
    def write_stream(self, stream: BinaryIO) -> WriteResult:
        """Encrypt everything ``stream`` yields, segment by segment, under a fresh data key."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        data_key = AESGCM.generate_key(bit_length=256)
        tmp = self._tmp_path()
        hasher = hashlib.sha256()
        size = 0
        with _translate(self.uri):
            try:
                with self._fs.open(tmp, "wb") as out:
                    writer = _SegmentWriter(data_key, out)
                    while chunk := stream.read(CHUNK_SIZE):
                        hasher.update(chunk)
                        size += len(chunk)
                        writer.write(chunk)
                    writer.close()
                    digest = hasher.hexdigest()
                    known = self._readable(digest)
                    if self._local and not known:
                        out.flush()
                        os.fsync(out.fileno())
                if known:
                    self._fs.rm(tmp)
                    self._touch(digest)
                    return WriteResult((digest, size, False))
                # the key record first: an encrypted object is never in place without its key
                self._write_key(digest, data_key)
                return self._move_into_place(tmp, digest, size)
            except BaseException:
                if self._fs.exists(tmp):
                    self._fs.rm(tmp)
                raise

    def _readable(self, digest: str) -> bool:
        """Stored, and encrypted with a key record we hold (else it is written again)."""
        return bool(self._fs.exists(self.path_of(digest))) and self._key_record(digest) is not None

    def write_file(self, path: str | Path, *, likely_new: bool = False) -> WriteResult:
        source = Path(path)
        if not source.is_file():
            raise NotFoundError(f"file {source} does not exist or is not a regular file")
        with source.open("rb") as fh:
            return self.write_stream(fh)

    # -- reading -------------------------------------------------------------------------------
    def open(self, digest: str, *, expected_size: int | None = None) -> BinaryIO:
        d = normalize_digest(digest)
        with _translate(self.uri):
            try:
                raw = self._fs.open(self.path_of(d), "rb")
            except FileNotFoundError:
                raise NotFoundError(f"artifact {d} is not in the store {self.uri}") from None
            try:
                source: Any = self._plain_or_decrypting(raw, d)
            except BaseException:
                raw.close()
                raise
        reader = VerifyingReader(source, d, expected_size)
        return io.BufferedReader(reader, buffer_size=CHUNK_SIZE)

    def _plain_or_decrypting(self, raw: Any, digest: str) -> Any:
        record = self._key_record(digest)
        if record is None:
            head = raw.read(len(MAGIC))
            if head == MAGIC:
                raise KeyShreddedError(
                    f"artifact {digest} is encrypted and its data key was shredded: its bytes "
                    "cannot be read"
                )
            raw.seek(0)
            return raw  # stored before encryption was turned on
        return _DecryptingReader(raw, self._data_key(digest, record), digest)

    def copy_to(self, digest: str, dest: str | Path, *, expected_size: int | None = None) -> Path:
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            with self.open(digest, expected_size=expected_size) as src, tmp.open("wb") as out:
                shutil.copyfileobj(src, out, CHUNK_SIZE)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def delete(self, digest: str) -> None:
        super().delete(digest)
        with _translate(self.uri):
            path = self.key_path_of(digest)
            if self._fs.exists(path):
                self._fs.rm(path)

    # -- key management ------------------------------------------------------------------------
    def rewrap(self, *, progress: Callable[[str], None] | None = None) -> RewrapReport:
        """Re-wrap every data key under the current master key (the data is not touched)."""
        current = self._keys.current_key_id()
        rewrapped = already = 0
        unreadable: list[str] = []
        for digest in self.iter_key_records():
            record = self._key_record(digest)
            if record is None:
                continue
            if record["kek"] == current:
                already += 1
                continue
            try:
                data_key = self._data_key(digest, record)
            except (NotFoundError, IntegrityError):
                unreadable.append(digest)
                continue
            self._write_key(digest, data_key)
            rewrapped += 1
            if progress is not None:
                progress(digest)
        return RewrapReport((rewrapped, already, unreadable))

    def shred(self, digest: str) -> bool:
        """Destroy one object's data key (its ciphertext stays, unreadable); True if it had one."""
        d = normalize_digest(digest)
        with _translate(self.uri):
            path = self.key_path_of(d)
            if not self._fs.exists(path):
                return False
            self._fs.rm(path)
        return True

    def iter_key_records(self) -> Iterator[str]:
        with _translate(self.uri):
            base = f"{self._root}/keys/sha256"
            if not self._fs.exists(base):
                return
            for path in self._fs.find(base):
                parts = str(path).rstrip("/").split("/")
                candidate = parts[-2] + parts[-1]
                if len(candidate) == 64:
                    yield candidate
