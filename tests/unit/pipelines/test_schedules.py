"""Schedules: due slots from cron, one claim per slot, disabled schedules, the loop."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from falaj.pipelines.errors import PipelineNotFoundError, ScheduleNotFoundError
from falaj.pipelines.schedules import Claim
from falaj.workspace import Workspace
from tests.unit.pipelines.conftest import executions

MOD = "tests.unit.pipelines.sample_steps"


def test_due_slots_follow_the_cron_expression(ws: Workspace) -> None:
    sched = ws.pipelines.schedules.create("q", f"{MOD}:linear", "*/15 * * * *")
    base = sched.created_at.replace(minute=0, second=0, microsecond=0)
    now = base + dt.timedelta(hours=1, minutes=1)
    slots = ws.pipelines.schedules.due_slots(sched, now)
    assert slots and all(s.minute in (0, 15, 30, 45) and s.second == 0 for s in slots)
    assert all(sched.created_at < s <= now for s in slots)
    assert slots == sorted(slots)


def test_a_slot_runs_once_then_is_no_longer_due(ws: Workspace, counter: str) -> None:
    sched = ws.pipelines.schedules.create(
        "h", f"{MOD}:linear", "0 * * * *", params={"counter": counter}
    )
    now = sched.created_at + dt.timedelta(hours=1)
    claims = ws.pipelines.schedules.tick(now)
    assert [(c.won, c.status) for c in claims] == [(True, "SUCCEEDED")]
    assert ws.pipelines.schedules.tick(now) == []
    run = ws.pipelines.get_run(claims[0].pipeline_run_id or "")
    assert run.external_key == f"schedule:h:{claims[0].scheduled_for.isoformat()}"
    assert executions(counter) == 2
    assert [c.status for c in ws.pipelines.schedules.claims("h")] == ["SUCCEEDED"]


def test_disabled_schedules_are_not_run(ws: Workspace) -> None:
    sched = ws.pipelines.schedules.create("off", f"{MOD}:linear", "* * * * *")
    ws.pipelines.schedules.set_enabled("off", False)
    assert ws.pipelines.schedules.tick(sched.created_at + dt.timedelta(minutes=5)) == []
    assert ws.pipelines.schedules.get("off").enabled is False


def test_a_failing_scheduled_run_is_recorded_on_its_claim(ws: Workspace, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    flag.write_text("fail")
    sched = ws.pipelines.schedules.create(
        "g", f"{MOD}:gated", "0 * * * *", params={"flag": str(flag)}
    )
    [claim] = ws.pipelines.schedules.tick(sched.created_at + dt.timedelta(hours=1))
    assert claim.status == "FAILED"
    assert claim.error is not None and "gate is closed" in claim.error
    assert ws.pipelines.get_run(claim.pipeline_run_id or "").status == "FAILED"


def test_schedule_of_a_missing_pipeline_is_refused(ws: Workspace) -> None:
    with pytest.raises(PipelineNotFoundError):
        ws.pipelines.schedules.create("x", f"{MOD}:nope", "* * * * *")
    with pytest.raises(ScheduleNotFoundError, match="'x'"):
        ws.pipelines.schedules.get("x")


def test_loop_ticks_until_stopped(ws: Workspace) -> None:
    ws.pipelines.schedules.create("m", f"{MOD}:linear", "* * * * *")
    stop = threading.Event()
    ticks: list[Claim] = []
    thread = threading.Thread(
        target=ws.pipelines.schedules.loop,
        kwargs={"interval": 0.05, "stop": stop, "on_claim": ticks.append},
    )
    thread.start()
    stop.wait(0.3)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
