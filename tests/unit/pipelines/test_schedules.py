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


def test_loop_ticks_on_its_clock_until_stopped(ws: Workspace) -> None:
    created = dt.datetime(2026, 12, 1, 3, 0, 30, tzinfo=dt.UTC)
    frozen = ws.pipelines.schedules.using_clock(lambda: created)
    assert frozen.create("m", f"{MOD}:linear", "* * * * *").created_at == created
    stop = threading.Event()
    now = [created]
    ticks: list[tuple[str, list[str]]] = []

    def on_tick(moment: dt.datetime, claims: list[Claim]) -> None:
        ticks.append(
            (moment.strftime("%H:%M:%S"), [c.scheduled_for.strftime("%H:%M") for c in claims])
        )
        now[0] += dt.timedelta(minutes=1)  # the next tick happens a minute later
        if len(ticks) == 3:
            stop.set()

    thread = threading.Thread(
        target=ws.pipelines.schedules.using_clock(lambda: now[0]).loop,
        kwargs={"interval": 0.01, "stop": stop, "on_tick": on_tick},
    )
    thread.start()
    thread.join(120)
    assert not thread.is_alive()
    assert ticks == [("03:00:30", []), ("03:01:30", ["03:01"]), ("03:02:30", ["03:02"])]
    assert [c.status for c in ws.pipelines.schedules.claims("m")] == ["SUCCEEDED"] * 2


def test_a_naive_clock_is_refused(ws: Workspace) -> None:
    from falaj.errors import InvalidInputError

    naive = ws.pipelines.schedules.using_clock(lambda: dt.datetime(2026, 1, 1))
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        naive.create("n", f"{MOD}:linear", "* * * * *")
