"""A step killed mid-run leaves its step-run row (RUNNING) and the logs it wrote so far."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from falaj.pipelines.logstream import SPOOL_PREFIX, clean_stale_spools
from falaj.workspace import Workspace

_SCRIPT = Path(__file__).with_name("killed_step_pipeline.py")


def _wait_for(condition, what: str, limit_s: float = 120.0):  # type: ignore[no-untyped-def]
    """Poll ``condition`` until it returns something truthy (the child's progress is the event)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def test_killed_step_leaves_running_row_and_partial_logs(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    Workspace.init(home).close()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, str(_SCRIPT), str(home)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        with Workspace.open(home) as ws:

            def stuck_logged():  # type: ignore[no-untyped-def]
                runs = ws.pipelines.list_runs()
                if not runs:
                    return None
                latest = ws.pipelines.get_run(runs[0].id).latest("stuck")
                if latest is None or latest.log_digest is None:
                    return None
                return latest

            _wait_for(stuck_logged, "the stuck step's streamed logs")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL

    with Workspace.open(home) as ws:
        (run,) = ws.pipelines.list_runs()
        full = ws.pipelines.get_run(run.id)
        prepare, stuck = full.latest("prepare"), full.latest("stuck")
        assert prepare is not None and prepare.status == "SUCCEEDED"
        assert stuck is not None and stuck.status == "RUNNING"
        assert stuck.inputs == {"value": prepare.outputs["output"].digest}
        assert ws.pipelines.logs(stuck.id) == "partial line before the kill: 41\n"
        started = [e for e in ws.audit.list() if e.action == "pipeline.step.start"]
        assert {e.resource_id for e in started} == {prepare.id, stuck.id}


def test_spool_folder_of_a_killed_coordinator_is_removed_once_stale(tmp_path: Path) -> None:
    dead = tmp_path / f"{SPOOL_PREFIX}dead"
    dead.mkdir()
    (dead / "abc.log").write_text("partial")
    now = (dead / "abc.log").stat().st_mtime
    fresh = tmp_path / f"{SPOOL_PREFIX}live"
    fresh.mkdir()
    os.utime(fresh, (now + 3000, now + 3000))  # a coordinator still writing an hour later
    assert clean_stale_spools(now + 10, 3600, folder=tmp_path) == []
    assert clean_stale_spools(now + 3601, 3600, folder=tmp_path) == [dead.name]
    assert not dead.exists() and fresh.exists()
