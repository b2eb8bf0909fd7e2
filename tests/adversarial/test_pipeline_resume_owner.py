"""``pipeline resume --force`` never runs a step twice at once: a live owner is refused."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from falaj.pipelines.errors import RunStateError
from falaj.pipelines.ownership import Heartbeat, RunOwner, driving, liveness, this_process
from falaj.pipelines.tables import pipeline_runs
from falaj.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "tests.adversarial.blocking_steps:held"

_CHILD = """
import sys
sys.path.insert(0, {root!r})
from falaj.workspace import Workspace
with Workspace.open({home!r}) as ws:
    ws.pipelines.run({source!r}, params={{"folder": {folder!r}}})
"""


def _wait_for(path: Path, proc: subprocess.Popen[bytes]) -> None:
    """Wait until the child created ``path`` (or died: then fail with its output)."""
    done = threading.Event()
    while not path.exists():
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"child exited {proc.returncode} before starting its step:\n{out}")
        done.wait(0.05)


def _set_owner(ws: Workspace, run_id: str, **values: object) -> None:
    with ws.store.transaction() as conn:
        conn.execute(sa.update(pipeline_runs).where(pipeline_runs.c.id == run_id).values(**values))


def test_force_resume_of_a_live_run_is_refused_and_allowed_after_kill_9(tmp_path: Path) -> None:
    home, folder = tmp_path / "ws", tmp_path / "signals"
    folder.mkdir()
    Workspace.init(home).close()
    code = _CHILD.format(root=str(ROOT), home=str(home), source=SOURCE, folder=str(folder))
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        _wait_for(folder / "started", child)
        with Workspace.open(home) as ws:
            (run,) = ws.pipelines.list_runs()
            assert (run.status, run.owner_pid, run.owner_host) == (
                "RUNNING",
                child.pid,
                this_process()[0],
            )
            assert run.heartbeat_at is not None
            with pytest.raises(RunStateError, match=f"process {child.pid} on this host"):
                ws.pipelines.resume(run.id, force=True)
            # nothing ran a second time: the only step run is the live child's, written at start
            steps = ws.pipelines.get_run(run.id).steps
            assert [(s.step, s.status) for s in steps] == [("hold", "RUNNING")]
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            (folder / "release").touch()
            resumed = ws.pipelines.resume(run.id, force=True)
            assert resumed.status == "SUCCEEDED"
            assert resumed.owner_pid == os.getpid()
            assert [s.step for s in resumed.steps if s.status == "SUCCEEDED"] == ["hold"]
            actions = [e.action for e in ws.audit.list() if e.resource_id == run.id]
            assert "pipeline.run.resume" in actions
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_a_run_this_process_is_driving_is_refused_too(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "sig"
    folder.mkdir()
    failures: list[BaseException] = []

    def drive() -> None:
        try:
            ws.pipelines.run(SOURCE, params={"folder": str(folder)})
        except BaseException as exc:  # reported below
            failures.append(exc)

    worker = threading.Thread(target=drive)
    worker.start()
    try:
        while not (folder / "started").exists():
            assert worker.is_alive(), failures
            threading.Event().wait(0.05)
        (run,) = ws.pipelines.list_runs()
        with pytest.raises(RunStateError, match=f"this process \\({os.getpid()}\\) is running it"):
            ws.pipelines.resume(run.id, force=True)
    finally:
        (folder / "release").touch()
        worker.join()
    assert failures == []
    assert ws.pipelines.get_run(run.id).status == "SUCCEEDED"


def _running_run(ws: Workspace, tmp_path: Path) -> str:
    folder = tmp_path / "sig"
    folder.mkdir(exist_ok=True)
    (folder / "release").touch()
    run = ws.pipelines.run(SOURCE, params={"folder": str(folder)})
    with ws.store.transaction() as conn:
        conn.execute(
            sa.update(pipeline_runs)
            .where(pipeline_runs.c.id == run.id)
            .values(status="RUNNING", ended_at=None)
        )
    return run.id


def test_owner_on_another_host_is_judged_by_its_heartbeat(
    any_ws: Workspace, tmp_path: Path
) -> None:
    t0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    now = [t0 + dt.timedelta(seconds=30)]
    any_ws.pipelines.clock = lambda: now[0]
    run_id = _running_run(any_ws, tmp_path)
    _set_owner(any_ws, run_id, owner_host="worker-7", owner_pid=4242, heartbeat_at=t0)
    with pytest.raises(RunStateError, match="process 4242 on host worker-7 sent a heartbeat 30 s"):
        any_ws.pipelines.resume(run_id, force=True)
    assert any_ws.pipelines.get_run(run_id).owner_host == "worker-7"  # changed nothing
    now[0] = t0 + any_ws.pipelines.stale_after
    resumed = any_ws.pipelines.resume(run_id, force=True)
    assert (resumed.status, resumed.owner_host, resumed.owner_pid) == (
        "SUCCEEDED",
        this_process()[0],
        os.getpid(),
    )


def test_a_take_over_loses_to_a_process_that_claimed_the_run_first(
    ws: Workspace, tmp_path: Path
) -> None:
    from falaj.pipelines.records import PipelineRun

    run_id = _running_run(ws, tmp_path)
    _set_owner(ws, run_id, owner_host="gone", owner_pid=1, heartbeat_at=None)
    seen: PipelineRun = ws.pipelines.get_run(run_id)
    _set_owner(ws, run_id, owner_host="faster", owner_pid=2)  # another resumer won the race
    with (
        pytest.raises(RunStateError, match="taken over by another process"),
        ws.store.transaction() as conn,
    ):
        ws.pipelines._claim(conn, seen)
    assert ws.pipelines.get_run(run_id).owner_host == "faster"


def test_liveness_rules() -> None:
    t0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    stale = dt.timedelta(seconds=60)
    here = "host-a"

    def alive(pid: int) -> bool:
        return pid == 10

    def judge(owner: RunOwner, now: dt.datetime = t0) -> str | None:
        return liveness(owner, host=here, now=now, stale_after=stale, is_alive=alive)

    assert judge(RunOwner(here, 10, None)) is not None  # same host: the pid decides
    assert judge(RunOwner(here, 11, t0)) is None  # dead pid, even with a fresh heartbeat
    assert judge(RunOwner("host-b", 11, t0 - dt.timedelta(seconds=59))) is not None
    assert judge(RunOwner("host-b", 10, t0 - stale)) is None  # another host: heartbeat decides
    assert judge(RunOwner(None, None, None)) is None  # a run from before owners were recorded


def test_heartbeat_beats_until_the_block_ends() -> None:
    beats: list[int] = []
    third = threading.Event()

    def beat() -> None:
        beats.append(1)
        if len(beats) == 3:
            third.set()
        if len(beats) == 1:
            raise RuntimeError("a failed beat is logged, not fatal")

    with Heartbeat("run-1", beat, interval=0.001) as heartbeat:
        assert driving("run-1")
        assert third.wait(60)
    assert not heartbeat._thread.is_alive()  # stopped and joined when the block ended
    assert not driving("run-1")
