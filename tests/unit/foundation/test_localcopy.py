"""The kernel-copy-while-hashing path used by local artifact stores."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from falaj.artifacts.localcopy import SourceChangedError, copy_hashing, hash_file
from falaj.artifacts.objects import ObjectStore
from falaj.errors import IntegrityError


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "source.bin"
    path.write_bytes(os.urandom(9 * 1024 * 1024 + 123))  # more than one 8 MiB step
    return path


def test_copy_is_byte_identical_and_digest_is_of_those_bytes(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest.bin"
    result = copy_hashing(source, dest, fsync=True)
    data = source.read_bytes()
    assert dest.read_bytes() == data
    assert (result.digest, result.size, result.copied) == (
        hashlib.sha256(data).hexdigest(),
        len(data),
        True,
    )
    assert hash_file(source) == result


def test_known_content_abandons_the_copy(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest.bin"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    asked: list[str] = []
    result = copy_hashing(source, dest, known=lambda d: asked.append(d) or True)
    assert asked == [digest]
    assert not result.copied and result.digest == digest
    assert not dest.exists()


def test_source_written_during_the_copy_is_refused(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest.bin"

    def append_then_answer(_digest: str) -> bool:  # runs after hashing, before the check
        with source.open("ab") as fh:
            fh.write(b"late write")
        return False

    with pytest.raises(SourceChangedError):
        copy_hashing(source, dest, known=append_then_answer)
    assert not dest.exists()


def test_damaged_local_object_is_refused_on_read_back(tmp_path: Path) -> None:
    store = ObjectStore((tmp_path / "objects").as_uri())
    payload = os.urandom(100_000)
    written = store.write_bytes(payload)
    path = Path(store.path_of(written.digest))
    path.write_bytes(bytes([payload[0] ^ 1]) + payload[1:])
    out = tmp_path / "out" / "copy.bin"
    with pytest.raises(IntegrityError, match="damaged"):
        store.copy_to(written.digest, out, expected_size=written.size)
    assert not out.exists()
    assert list(out.parent.iterdir()) == []
