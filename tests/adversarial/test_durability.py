"""Durability: a committed metadata transaction and a stored object survive a power loss.

SQLite must run ``synchronous=FULL`` unless the operator chose ``NORMAL``; an object renamed into
place is durable only once its folder is fsynced after the rename.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from falaj.artifacts.objects import ObjectStore
from falaj.config import Settings
from falaj.errors import ConfigError
from falaj.store.engine import create_engine
from falaj.workspace import Workspace

_FULL, _NORMAL = 2, 1  # PRAGMA synchronous values


def _synchronous(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())


def test_embedded_workspace_commits_with_synchronous_full(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        assert ws.settings.sqlite_synchronous == "FULL"
        assert _synchronous(ws.store.engine) == _FULL


def test_normal_is_an_explicit_setting(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws", sqlite_synchronous="normal") as ws:
        assert _synchronous(ws.store.engine) == _NORMAL
    env = {"FALAJ_SQLITE_SYNCHRONOUS": "NORMAL"}
    assert Settings.load(env=env).sqlite_synchronous == "NORMAL"


def test_unknown_synchronous_level_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sqlite_synchronous.*FULL, NORMAL"):
        Settings.load(env={"FALAJ_SQLITE_SYNCHRONOUS": "OFF"})
    with pytest.raises(ConfigError, match="sqlite_synchronous 'OFF' is invalid"):
        create_engine(f"sqlite:///{tmp_path / 'x.db'}", sqlite_synchronous="OFF")


@pytest.fixture
def fsynced(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Record what each real ``os.fsync`` call flushed: ("dir" | "file", inode)."""
    calls: list[tuple[str, int]] = []
    real = os.fsync

    def recording(fd: int) -> None:
        st = os.fstat(fd)
        calls.append(("dir" if stat.S_ISDIR(st.st_mode) else "file", st.st_ino))
        real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    return calls


@pytest.mark.parametrize("how", ["stream", "file"])
def test_object_folder_is_fsynced_after_the_rename(
    tmp_path: Path, fsynced: list[tuple[str, int]], how: str
) -> None:
    store = ObjectStore((tmp_path / "objects").as_uri())
    payload = b"durable bytes " * 1000
    if how == "stream":
        written = store.write_bytes(payload)
    else:
        source = tmp_path / "payload.bin"
        source.write_bytes(payload)
        written = store.write_file(source)
    final = Path(store.path_of(written.digest))
    folder_inode = final.parent.stat().st_ino
    file_inode = final.stat().st_ino
    assert ("file", file_inode) in fsynced
    assert ("dir", folder_inode) in fsynced
    # the folder is flushed after the file (the rename happens between the two)
    assert fsynced.index(("dir", folder_inode)) > fsynced.index(("file", file_inode))


def test_storing_known_content_again_writes_and_fsyncs_nothing(
    tmp_path: Path, fsynced: list[tuple[str, int]]
) -> None:
    store = ObjectStore((tmp_path / "objects").as_uri())
    source = tmp_path / "payload.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024))
    first = store.write_file(source)
    fsynced.clear()
    again = store.write_file(source)
    again_stream = store.write_bytes(source.read_bytes())
    assert (again.digest, again.created) == (first.digest, False)
    assert (again_stream.digest, again_stream.created) == (first.digest, False)
    assert fsynced == []
    assert list((tmp_path / "objects" / "tmp").iterdir()) == []
