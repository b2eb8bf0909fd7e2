"""The artifact backend contract: local folder, memory and S3 behave the same."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from falaj.artifacts import ObjectStore
from falaj.errors import IntegrityError, InvalidInputError, NotFoundError


def test_bytes_round_trip_by_digest(object_store: ObjectStore) -> None:
    written = object_store.write_bytes(b"credit data")
    assert written.digest == hashlib.sha256(b"credit data").hexdigest()
    assert written.size == 11 and written.created
    assert object_store.read_bytes(written.digest) == b"credit data"
    assert object_store.exists(written.digest)


def test_identical_content_is_stored_once(object_store: ObjectStore) -> None:
    first = object_store.write_bytes(b"same")
    second = object_store.write_bytes(b"same")
    assert first.digest == second.digest
    assert first.created and not second.created
    assert list(object_store.iter_digests()) == [first.digest]


def test_no_temporary_object_is_left_behind(object_store: ObjectStore) -> None:
    object_store.write_bytes(b"a")
    object_store.write_bytes(b"a")
    fs = object_store._fs
    tmp_dir = f"{object_store._root}/tmp"
    leftovers = fs.find(tmp_dir) if fs.exists(tmp_dir) else []
    assert leftovers == []


def test_missing_object_is_not_found(object_store: ObjectStore) -> None:
    with pytest.raises(NotFoundError):
        object_store.read_bytes("0" * 64)


def test_malformed_digest_is_refused(object_store: ObjectStore) -> None:
    with pytest.raises(InvalidInputError, match="64 hex"):
        object_store.read_bytes("not-a-digest")


def _stored(store: ObjectStore, digest: str) -> bytes:
    """The bytes at rest (ciphertext on an encrypted store)."""
    with store._fs.open(store.path_of(digest), "rb") as fh:
        return bytes(fh.read())


def _overwrite(store: ObjectStore, digest: str, data: bytes) -> None:
    with store._fs.open(store.path_of(digest), "wb") as fh:
        fh.write(data)


def _flip(store: ObjectStore, digest: str, position: int) -> None:
    """Flip one bit of the bytes at rest."""
    damaged = bytearray(_stored(store, digest))
    damaged[position] ^= 0x01
    _overwrite(store, digest, bytes(damaged))


def _cut(store: ObjectStore, digest: str) -> None:
    """Keep the first half of the bytes at rest."""
    stored = _stored(store, digest)
    _overwrite(store, digest, stored[: len(stored) // 2])


def test_bit_flip_is_detected_and_no_bytes_are_returned(
    object_store: ObjectStore, tmp_path: Path
) -> None:
    payload = bytes(range(256)) * 100
    written = object_store.write_bytes(payload)
    _flip(object_store, written.digest, 1234)
    with pytest.raises(IntegrityError, match="damaged"):
        object_store.read_bytes(written.digest, expected_size=written.size)
    dest = tmp_path / "out.bin"
    with pytest.raises(IntegrityError):
        object_store.copy_to(written.digest, dest, expected_size=written.size)
    assert not dest.exists()
    assert list(tmp_path.glob(".out.bin.*")) == []


def test_truncation_is_detected(object_store: ObjectStore) -> None:
    payload = b"x" * 10_000
    written = object_store.write_bytes(payload)
    _cut(object_store, written.digest)
    with pytest.raises(IntegrityError, match="truncated"):
        object_store.read_bytes(written.digest, expected_size=written.size)
    with pytest.raises(IntegrityError):
        object_store.verify(written.digest)  # even without the recorded size


def test_streaming_reader_raises_before_reporting_end(object_store: ObjectStore) -> None:
    written = object_store.write_bytes(b"y" * 1000)
    _flip(object_store, written.digest, -1)
    with object_store.open(written.digest) as fh, pytest.raises(IntegrityError):
        while fh.read(100):
            pass


class _Generated(io.RawIOBase):
    """A stream of ``size`` pseudo-random bytes that never exists in memory at once."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.hash = hashlib.sha256()
        self.counter = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.remaining, 1 << 20)
        if n == 0:
            return 0
        block = hashlib.sha256(str(self.counter).encode()).digest() * (n // 32 + 1)
        self.counter += 1
        buffer[:n] = block[:n]
        self.hash.update(block[:n])
        self.remaining -= n
        return n


@pytest.mark.parametrize("encrypted", [False, True], ids=["plaintext", "encrypted"])
def test_large_objects_stream_in_bounded_memory(tmp_path: Path, encrypted: bool) -> None:
    import tracemalloc

    from falaj.artifacts.encryption import EncryptedObjectStore
    from falaj.governance.kms import FileKeyProvider

    uri = (tmp_path / "big").as_uri()
    store = (
        EncryptedObjectStore(uri, keys=FileKeyProvider(tmp_path / "keys"))
        if encrypted
        else ObjectStore(uri)
    )
    size = 96 * 1024 * 1024
    source = _Generated(size)
    tracemalloc.start()
    written = store.write_stream(io.BufferedReader(source, buffer_size=1 << 20))
    _, peak_write = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    store.verify(written.digest, expected_size=size)
    _, peak_read = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert written.size == size and written.digest == source.hash.hexdigest()
    assert peak_write < 40 * 1024 * 1024, peak_write  # a few 8 MiB chunks, never the object
    assert peak_read < 40 * 1024 * 1024, peak_read
