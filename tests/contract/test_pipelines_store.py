"""Pipelines on every metadata backend (SQLite and PostgreSQL): runs, cache, step runs by key,
and schedules claimed exactly once by concurrent schedulers."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from falaj.errors import ConflictError
from falaj.governance.principal import Principal
from falaj.pipelines.errors import StepFailedError
from falaj.pipelines.schedules import Claim
from falaj.pipelines.tables import pipeline_runs, schedule_claims, step_outputs, step_runs
from falaj.workspace import Workspace

MOD = "tests.unit.pipelines.sample_steps"


def test_run_then_cached_rerun(any_ws: Workspace) -> None:
    first = any_ws.pipelines.run(f"{MOD}:linear", params={"rows": 3})
    second = any_ws.pipelines.run(f"{MOD}:linear", params={"rows": 3})
    assert [s.status for s in first.steps] == ["SUCCEEDED"] * 3
    assert [s.status for s in second.steps] == ["CACHED"] * 3
    summary = second.latest("summarize")
    assert summary is not None
    assert any_ws.pipelines.load_output(summary.id) == {"rows": 3, "x_sum": 6}
    assert any_ws.pipelines.list_runs(pipeline="linear", limit=1)[0].id == second.id


def test_failed_step_writes_its_run_row_and_nothing_else(any_ws: Workspace, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    flag.write_text("fail")
    with pytest.raises(StepFailedError):
        any_ws.pipelines.run(f"{MOD}:gated", params={"flag": str(flag)})
    with any_ws.store.read() as conn:
        rows = conn.execute(sa.select(step_runs.c.step, step_runs.c.status)).all()
        failed_id = conn.execute(
            sa.select(step_runs.c.id).where(step_runs.c.status == "FAILED")
        ).scalar_one()
        outs = conn.execute(
            sa.select(sa.func.count()).where(step_outputs.c.step_run_id == failed_id)
        ).scalar_one()
        status = conn.execute(sa.select(pipeline_runs.c.status)).scalar_one()
    assert sorted(rows) == [("gate", "FAILED"), ("make_frame", "SUCCEEDED")]
    assert (outs, status) == (0, "FAILED")


def test_run_step_by_key_shares_one_pipeline_run(any_ws: Workspace) -> None:
    source = f"{MOD}:linear"
    with pytest.raises(ConflictError, match=r"needs upstream step\(s\) \['make_frame'\]"):
        any_ws.pipelines.run_step(source, "add_one", run_key="k1")
    first = any_ws.pipelines.run_step(source, "make_frame", run_key="k1")
    second = any_ws.pipelines.run_step(source, "add_one", run_key="k1")
    third = any_ws.pipelines.run_step(source, "summarize", run_key="k1")
    assert first.pipeline_run_id == second.pipeline_run_id == third.pipeline_run_id
    run = any_ws.pipelines.get_run(first.pipeline_run_id)
    assert (run.status, run.external_key) == ("SUCCEEDED", "k1")
    assert any_ws.pipelines.load_output(third.id) == {"rows": 4, "x_sum": 10}


def test_two_schedulers_run_each_due_slot_exactly_once(any_ws: Workspace, tmp_path: Path) -> None:
    counter = str(tmp_path / "count")
    sched = any_ws.pipelines.schedules.create(
        "hourly", f"{MOD}:linear", "0 * * * *", params={"counter": counter}
    )
    now = sched.created_at + dt.timedelta(hours=3, minutes=1)
    expected = any_ws.pipelines.schedules.due_slots(sched, now)
    assert len(expected) == 3
    other = Workspace.open(settings=any_ws.settings, principal=Principal("bob"))
    barrier = threading.Barrier(2)
    results: dict[str, list[Claim]] = {}

    def scheduler(name: str, ws: Workspace) -> None:
        barrier.wait()
        results[name] = ws.pipelines.schedules.tick(now, scheduler_id=name, executor="local")

    try:
        threads = [
            threading.Thread(target=scheduler, args=("a", any_ws)),
            threading.Thread(target=scheduler, args=("b", other)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        other.close()
    won = [c for claims in results.values() for c in claims if c.won]
    assert sorted(c.scheduled_for for c in won) == expected
    assert all(c.status == "SUCCEEDED" for c in won)
    with any_ws.store.read() as conn:
        claims = conn.execute(sa.select(schedule_claims.c.scheduled_for)).scalars().all()
        runs = conn.execute(
            sa.select(sa.func.count()).where(pipeline_runs.c.external_key.like("schedule:%"))
        ).scalar_one()
    assert sorted(claims) == expected
    assert runs == 3
    assert len({c.pipeline_run_id for c in won}) == 3
    assert any_ws.pipelines.schedules.tick(now) == []  # nothing left due


def test_schedule_with_bad_cron_is_refused(any_ws: Workspace) -> None:
    from falaj.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match=r"cron 'every day' is invalid"):
        any_ws.pipelines.schedules.create("bad", f"{MOD}:linear", "every day")
    assert any_ws.pipelines.schedules.list() == []


def test_step_by_step_run_stays_running_until_every_step_succeeded(any_ws: Workspace) -> None:
    source = f"{MOD}:diamond"
    params = {"seconds": 0.0}
    any_ws.pipelines.run_step(source, "timed", run_key="k2", params=params)
    left_only = any_ws.pipelines.list_runs(limit=1)[0]
    assert left_only.status == "RUNNING"
    any_ws.pipelines.run_step(source, "timed_right", run_key="k2", params=params)
    last = any_ws.pipelines.run_step(source, "join", run_key="k2", params=params)
    assert any_ws.pipelines.get_run(last.pipeline_run_id).status == "SUCCEEDED"
