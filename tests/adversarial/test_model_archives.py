"""Crafted model archives: zip bombs (outer archive and the skops file inside), pickle bytes in a
skops entry, missing members. Each is refused with an IntegrityError, never a raw library error,
and a bomb is refused before it is decompressed (under a memory cap)."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from falaj.errors import IntegrityError
from falaj.tracking.models import pack_model, read_manifest, unpack_model
from tests.adversarial.bounded import run_bounded

ROOT = Path(__file__).resolve().parents[2]
GiB = 1024**3


@pytest.fixture(scope="module")
def sklearn_archive() -> bytes:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    return pack_model(model).data


Writer = Callable[[zipfile.ZipFile, str], None]


def _rebuild(data: bytes, replace: dict[str, bytes | Writer | None]) -> bytes:
    """The archive with some members replaced (bytes or a writer function) or dropped (None)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename not in replace:
                dst.writestr(info, src.read(info))
        for name, content in replace.items():
            if callable(content):
                content(dst, name)
            elif content is not None:
                dst.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _zeros(size: int) -> Writer:
    def write(archive: zipfile.ZipFile, name: str) -> None:
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        block = bytes(16 * 1024**2)
        with archive.open(info, "w", force_zip64=True) as stream:
            for _ in range(size // len(block)):
                stream.write(block)

    return write


def _unpack_bounded(tmp_path: Path, data: bytes) -> object:
    path = tmp_path / "model.zip"
    path.write_bytes(data)
    setup = (
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "import skops.io, sklearn.linear_model  # the flavor's imports: not part of the attack\n"
        "from falaj.tracking.models import unpack_model\n"
        f"data = open({str(path)!r}, 'rb').read()\n"
    )
    return run_bounded(setup, "unpack_model(data)", cpu_seconds=2)


@pytest.mark.slow
def test_a_1_gib_member_in_a_small_archive_is_refused_unread(
    tmp_path: Path, sklearn_archive: bytes
) -> None:
    bomb = _rebuild(sklearn_archive, {"model.skops": _zeros(1 * GiB)})
    assert len(bomb) < 2 * 1024**2  # 1 GiB of content in about 1 MB
    out = _unpack_bounded(tmp_path, bomb)
    assert out.raised("IntegrityError"), out  # type: ignore[attr-defined]
    assert "refused as a zip bomb, unread" in out.message  # type: ignore[attr-defined]
    assert "'model.skops' declares 1,073,741,824 bytes" in out.message  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_zip_bomb_inside_the_skops_file_is_refused_unread(
    tmp_path: Path, sklearn_archive: bytes
) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as skops:
        skops.writestr("schema.json", "{}")
        _zeros(512 * 1024**2)(skops, "0.npy")
    out = _unpack_bounded(tmp_path, _rebuild(sklearn_archive, {"model.skops": inner.getvalue()}))
    assert out.raised("IntegrityError"), out  # type: ignore[attr-defined]
    assert "skops file model.skops: member '0.npy'" in out.message  # type: ignore[attr-defined]


def test_pickle_bytes_in_the_skops_entry_are_refused(sklearn_archive: bytes) -> None:
    crafted = _rebuild(sklearn_archive, {"model.skops": pickle.dumps({"a": 1})})
    with pytest.raises(IntegrityError, match=r"not a skops file .*pickle bytes"):
        unpack_model(crafted, trusted=True)


def test_a_skops_zip_without_its_schema_is_refused(sklearn_archive: bytes) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as skops:
        skops.writestr("other.json", "{}")
    crafted = _rebuild(sklearn_archive, {"model.skops": inner.getvalue()})
    with pytest.raises(IntegrityError, match=r"schema\.json is missing"):
        unpack_model(crafted)


def test_missing_manifest_and_missing_members_are_integrity_errors(sklearn_archive: bytes) -> None:
    with pytest.raises(IntegrityError, match=r"falaj-model\.json is missing"):
        read_manifest(_rebuild(sklearn_archive, {"falaj-model.json": None}))
    with pytest.raises(IntegrityError, match=r"lacks the file 'model\.skops' its manifest lists"):
        unpack_model(_rebuild(sklearn_archive, {"model.skops": None}))
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(sklearn_archive)).read("falaj-model.json"))
    manifest["files"] = []
    crafted = _rebuild(sklearn_archive, {"falaj-model.json": json.dumps(manifest).encode()})
    with pytest.raises(IntegrityError, match=r"lacks model\.skops"):
        unpack_model(crafted)


def test_a_corrupt_member_is_an_integrity_error(sklearn_archive: bytes) -> None:
    data = bytearray(sklearn_archive)
    with zipfile.ZipFile(io.BytesIO(sklearn_archive)) as archive:
        info = archive.getinfo("model.skops")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 10
    data[start : start + 8] = b"\xff" * 8  # flip compressed bytes in the middle
    with pytest.raises(IntegrityError, match=r"model\.skops"):
        unpack_model(bytes(data))


def test_an_honest_archive_still_loads(sklearn_archive: bytes) -> None:
    import pandas as pd

    loaded = unpack_model(sklearn_archive)
    assert list(loaded.predict(pd.DataFrame({"x0": [0.0, 3.0]}))) in ([0, 1], [[0], [1]])
