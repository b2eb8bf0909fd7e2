"""Envelope encryption at rest: what is stored, tampering, rotation and crypto-shredding."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from falaj.artifacts.encryption import MAGIC, SEGMENT_SIZE, EncryptedObjectStore, KeyShreddedError
from falaj.artifacts.objects import ObjectStore
from falaj.errors import IntegrityError, InvalidInputError
from falaj.governance.kms import FileKeyProvider, KeyDestroyedError

PAYLOAD = b"customer 4711, salary 23000 AED\n" * 100_000  # ~3.2 MB: four segments


@pytest.fixture
def keys(tmp_path: Path) -> FileKeyProvider:
    return FileKeyProvider(tmp_path / "keys" / "master")


@pytest.fixture
def store(tmp_path: Path, keys: FileKeyProvider) -> EncryptedObjectStore:
    return EncryptedObjectStore((tmp_path / "objects").as_uri(), keys=keys)


def _at_rest(store: EncryptedObjectStore, digest: str) -> bytes:
    return Path(store.path_of(digest)).read_bytes()


def test_plaintext_never_reaches_the_disk_and_the_digest_is_the_plaintexts(
    store: EncryptedObjectStore, keys: FileKeyProvider
) -> None:
    written = store.write_bytes(PAYLOAD)
    assert written.digest == hashlib.sha256(PAYLOAD).hexdigest()
    stored = _at_rest(store, written.digest)
    assert stored.startswith(MAGIC) and b"salary" not in stored
    assert store.read_bytes(written.digest, expected_size=written.size) == PAYLOAD
    master = keys.folder / f"{keys.current_key_id()}.key"
    assert stat.S_IMODE(master.stat().st_mode) == 0o600


def test_each_object_gets_its_own_data_key(store: EncryptedObjectStore) -> None:
    a = store.write_bytes(b"same prefix a")
    b = store.write_bytes(b"same prefix b")
    ka = Path(store.key_path_of(a.digest)).read_text()
    kb = Path(store.key_path_of(b.digest)).read_text()
    assert ka != kb


def test_reordered_segments_are_refused(store: EncryptedObjectStore) -> None:
    written = store.write_bytes(PAYLOAD)
    path = Path(store.path_of(written.digest))
    data = path.read_bytes()
    record = 5 + 12 + SEGMENT_SIZE + 16  # header, nonce, full segment, tag
    first = len(MAGIC)
    swapped = (
        data[:first]
        + data[first + record : first + 2 * record]
        + data[first : first + record]
        + data[first + 2 * record :]
    )
    path.write_bytes(swapped)
    with pytest.raises(IntegrityError, match="segment 0 fails authentication"):
        store.read_bytes(written.digest)


def test_dropping_the_final_segment_is_refused(store: EncryptedObjectStore) -> None:
    written = store.write_bytes(PAYLOAD)
    path = Path(store.path_of(written.digest))
    record = 5 + 12 + SEGMENT_SIZE + 16
    path.write_bytes(path.read_bytes()[: len(MAGIC) + 3 * record])  # whole segments only
    with pytest.raises(IntegrityError, match="truncated"):
        store.read_bytes(written.digest)


def test_a_key_record_moved_onto_another_object_does_not_unwrap(
    store: EncryptedObjectStore,
) -> None:
    a = store.write_bytes(b"a" * 100)
    b = store.write_bytes(b"b" * 100)
    Path(store.key_path_of(b.digest)).write_bytes(Path(store.key_path_of(a.digest)).read_bytes())
    with pytest.raises(IntegrityError, match="does not unwrap"):
        store.read_bytes(b.digest)


def test_rotation_rewraps_data_keys_without_touching_the_data(
    store: EncryptedObjectStore, keys: FileKeyProvider
) -> None:
    written = [store.write_bytes(f"object {i}".encode() * 1000) for i in range(3)]
    old = keys.current_key_id()
    at_rest = {w.digest: _at_rest(store, w.digest) for w in written}
    new = keys.rotate()
    report = store.rewrap()
    assert new != old and report.rewrapped == 3 and report.unreadable == []
    assert {store.key_id_of(w.digest) for w in written} == {new}
    assert {w.digest: _at_rest(store, w.digest) for w in written} == at_rest  # same ciphertext
    keys.destroy(old)  # nothing needs the old master key any more
    for w in written:
        assert store.read_bytes(w.digest) == f"object {written.index(w)}".encode() * 1000
    assert store.rewrap().current == 3


def test_shredding_one_object_makes_only_it_unreadable(store: EncryptedObjectStore) -> None:
    gone = store.write_bytes(b"erase me")
    kept = store.write_bytes(b"keep me")
    assert store.shred(gone.digest)
    with pytest.raises(KeyShreddedError, match="shredded"):
        store.read_bytes(gone.digest)
    assert store.read_bytes(kept.digest) == b"keep me"
    again = store.write_bytes(b"erase me")  # stored anew under a fresh key if written again
    assert again.created and store.read_bytes(again.digest) == b"erase me"


def test_destroying_a_master_key_shreds_everything_it_wrapped(
    store: EncryptedObjectStore, keys: FileKeyProvider
) -> None:
    old_obj = store.write_bytes(b"under the old key")
    old = keys.current_key_id()
    with pytest.raises(InvalidInputError, match="rotate first"):
        keys.destroy(old)
    keys.rotate()
    new_obj = store.write_bytes(b"under the new key")
    keys.destroy(old)
    with pytest.raises(KeyDestroyedError, match="crypto-shredded"):
        store.read_bytes(old_obj.digest)
    assert store.read_bytes(new_obj.digest) == b"under the new key"
    assert [(k.key_id == old, k.destroyed) for k in keys.list_keys()].count((True, True)) == 1


def test_plaintext_objects_from_before_encryption_stay_readable(
    tmp_path: Path, keys: FileKeyProvider
) -> None:
    uri = (tmp_path / "objects").as_uri()
    old = ObjectStore(uri).write_bytes(b"written in the clear")
    store = EncryptedObjectStore(uri, keys=keys)
    assert store.read_bytes(old.digest) == b"written in the clear"
    again = store.write_bytes(b"written in the clear")
    assert again.created  # re-stored encrypted
    assert _at_rest(store, old.digest).startswith(MAGIC)
    assert store.read_bytes(old.digest) == b"written in the clear"
