"""What a writer killed with ``kill -9`` leaves behind is found and removed.

- a partial ``artifacts/tmp/<uuid>`` file: removed when the store is next opened, once stale;
- a ``falaj-ingest-*`` scratch folder of a killed register: removed the same way;
- an object renamed into place but never indexed: ``verify --orphans`` reports it, ``gc``
  removes it (and nothing that is indexed).

Ages are judged against an injected clock: "now" is the file's own time plus an offset.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from falaj.artifacts.housekeeping import STALE_AFTER_S
from falaj.artifacts.objects import ObjectStore
from falaj.data.ingest import clean_stale_scratch
from falaj.workspace import Workspace
from tests.e2e.conftest import run_falaj

_CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def _run_child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        env=_CHILD_ENV,
        timeout=300,
    )


def _kill_mid_write(root: Path) -> None:
    """A child streams into the object store and is SIGKILLed after the first chunk."""
    proc = _run_child(
        """
        import io, os, signal, sys
        from falaj.artifacts.objects import ObjectStore

        class Endless(io.RawIOBase):
            sent = 0
            def readable(self): return True
            def readinto(self, b):
                if self.sent:  # the first chunk is on disk in tmp/: die mid-write
                    os.kill(os.getpid(), signal.SIGKILL)
                self.sent += 1
                b[:] = b"x" * len(b)
                return len(b)

        ObjectStore(sys.argv[1]).write_stream(io.BufferedReader(Endless()))
        """,
        root.as_uri(),
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def test_partial_write_of_a_killed_process_is_removed_on_open_once_stale(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    _kill_mid_write(root)
    (leftover,) = list((root / "tmp").iterdir())
    assert leftover.stat().st_size > 0
    written_at = leftover.stat().st_mtime

    # young: a live writer could still own it
    ObjectStore(root.as_uri(), clock=lambda: written_at + STALE_AFTER_S - 60)
    assert leftover.exists()
    # stale: removed when the store is opened
    ObjectStore(root.as_uri(), clock=lambda: written_at + STALE_AFTER_S + 60)
    assert not leftover.exists()
    assert list((root / "tmp").iterdir()) == []


def test_opening_a_workspace_cleans_stale_temporaries(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        kept = ws.artifacts.put_bytes(b"indexed")
    tmp = tmp_path / "ws" / "artifacts" / "tmp"
    stale = tmp / ("0" * 32)
    stale.write_bytes(b"partial")
    old = stale.stat().st_mtime - STALE_AFTER_S - 60
    os.utime(stale, (old, old))
    with Workspace.open(tmp_path / "ws") as ws:
        assert not stale.exists()
        assert ws.artifacts.get_bytes(kept.digest) == b"indexed"


def test_ingest_scratch_of_a_killed_register_is_removed_once_stale(tmp_path: Path) -> None:
    dead = tmp_path / "falaj-ingest-dead"
    dead.mkdir()
    (dead / "data.parquet").write_bytes(b"PAR1 partial")
    live = tmp_path / "falaj-ingest-live"
    live.mkdir()
    (live / "data.parquet").write_bytes(b"PAR1 growing")
    unrelated = tmp_path / "someone-else"
    unrelated.mkdir()
    now = (live / "data.parquet").stat().st_mtime
    for path in (dead, dead / "data.parquet", unrelated):
        os.utime(path, (now - STALE_AFTER_S - 1, now - STALE_AFTER_S - 1))
    os.utime(live, (now - STALE_AFTER_S - 1, now - STALE_AFTER_S - 1))  # its file is fresh

    removed = clean_stale_scratch(now, STALE_AFTER_S, folder=tmp_path)

    assert removed == ["falaj-ingest-dead"]
    assert not dead.exists()
    assert (live / "data.parquet").read_bytes() == b"PAR1 growing"
    assert unrelated.exists()


def _kill_after_rename(home: Path) -> str:
    """A child stores an object (renamed into place) and is SIGKILLed before indexing it."""
    proc = _run_child(
        """
        import os, signal, sys
        from falaj.workspace import Workspace

        ws = Workspace.open(sys.argv[1])
        written = ws.artifacts.objects.write_bytes(b"renamed, never indexed")
        print(written.digest, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # before ArtifactService indexes it
        """,
        str(home),
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return proc.stdout.strip()


@pytest.fixture
def home_with_orphan(tmp_path: Path) -> tuple[Path, str, str]:
    home = tmp_path / "ws"
    with Workspace.init(home) as ws:
        indexed = ws.artifacts.put_bytes(b"indexed").digest
    return home, indexed, _kill_after_rename(home)


def test_verify_reports_and_gc_removes_an_object_never_indexed(
    home_with_orphan: tuple[Path, str, str],
) -> None:
    home, indexed, orphan = home_with_orphan
    with Workspace.open(home) as ws:
        objects = ws.artifacts.objects
        later = objects.modified_at(orphan) + STALE_AFTER_S + 1
        report = ws.artifacts.verify(orphans=True)
        assert report.orphans == [orphan] and report.ok and report.checked == 1
        # too young to remove: its writer may be about to index it
        assert ws.artifacts.gc(now=objects.modified_at(orphan) + 1).orphans == []
        assert objects.exists(orphan)
        assert ws.artifacts.gc(dry_run=True, now=later).orphans == [orphan]
        assert objects.exists(orphan)

        gone = ws.artifacts.gc(now=later)

        assert gone.orphans == [orphan]
        assert not objects.exists(orphan)
        assert ws.artifacts.get_bytes(indexed) == b"indexed"
        assert ws.artifacts.verify(orphans=True).orphans == []
        removals = [e.details["removed"] for e in ws.audit.list() if e.action == "artifact.gc"]
        assert sorted(removals) == [[], [orphan]]  # the young-orphan run removed nothing


def test_restoring_an_orphan_makes_it_young_so_gc_keeps_it(
    home_with_orphan: tuple[Path, str, str],
) -> None:
    home, _, orphan = home_with_orphan
    with Workspace.open(home) as ws:
        objects = ws.artifacts.objects
        old = objects.modified_at(orphan) - STALE_AFTER_S - 60
        os.utime(objects.path_of(orphan), (old, old))
        restored = ws.artifacts.put_bytes(b"renamed, never indexed")
        assert restored.digest == orphan
        assert ws.artifacts.gc(now=objects.modified_at(orphan) + 1).orphans == []
        assert ws.artifacts.get_bytes(orphan) == b"renamed, never indexed"


def test_cli_verify_orphans_and_gc(home_with_orphan: tuple[Path, str, str]) -> None:
    home, _, orphan = home_with_orphan
    listed = run_falaj("--home", str(home), "artifacts", "verify", "--orphans")
    assert listed.code == 0, listed.err
    assert f"orphan {orphan}" in listed.out
    assert "1 orphaned" in listed.out
    removed = run_falaj("--home", str(home), "artifacts", "gc", "--min-age", "0")
    assert removed.code == 0, removed.err
    assert f"removed orphan {orphan}" in removed.out
    again = run_falaj("--home", str(home), "artifacts", "verify", "--orphans")
    assert "0 orphaned" in again.out
