"""Cron schedules of pipelines, and the scheduler that runs their due slots.

Any number of schedulers may run against one workspace: each due slot is claimed by inserting
a ``(schedule_id, scheduled_for)`` row, and the database's unique constraint picks exactly one
winner, so a slot is neither missed nor run twice.
"""

from __future__ import annotations

import builtins
import datetime as dt
import os
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from falaj.errors import AlreadyExistsError, ExecutionError, InvalidInputError
from falaj.governance.authorization import Action
from falaj.governance.service import Service, ServiceContext
from falaj.pipelines.errors import ScheduleNotFoundError
from falaj.pipelines.spec import load_pipeline
from falaj.pipelines.tables import schedule_claims, schedules
from falaj.store.dml import insert_ignore
from falaj.store.schema import new_id, utcnow

if TYPE_CHECKING:
    from falaj.pipelines.service import PipelineService

__all__ = ["Claim", "Schedule", "ScheduleService"]

MAX_SLOTS_PER_TICK = 100


@dataclass(frozen=True)
class Schedule:
    id: str
    name: str
    source: str
    params: dict[str, Any]
    cron: str
    enabled: bool
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Claim:
    """One due slot a scheduler tried to take; ``won`` says whether it ran it."""

    schedule: str
    scheduled_for: dt.datetime
    won: bool
    status: str | None = None
    pipeline_run_id: str | None = None
    error: str | None = None


def _schedule(row: Any) -> Schedule:
    m = row._mapping
    return Schedule(
        id=m["id"],
        name=m["name"],
        source=m["source"],
        params=dict(m["params"] or {}),
        cron=m["cron"],
        enabled=bool(m["enabled"]),
        created_by=m["created_by"],
        created_at=m["created_at"],
    )


def _check_cron(cron: str) -> None:
    from croniter import croniter

    if not isinstance(cron, str) or not croniter.is_valid(cron):
        raise InvalidInputError(
            f"cron {cron!r} is invalid; expected five fields like '*/15 * * * *' (UTC)"
        )


class ScheduleService(Service):
    """``ws.pipelines.schedules``: create, list and run cron schedules.

    Time comes from ``clock`` (UTC-aware ``now``; the store's clock by default), never from the
    wall clock directly: :meth:`using_clock` gives the same service on another clock, so tests
    and replays decide what "now" is.
    """

    def __init__(
        self,
        context: ServiceContext,
        pipelines: PipelineService,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        super().__init__(context)
        self._pipelines = pipelines
        self.clock = clock

    def using_clock(self, clock: Callable[[], dt.datetime]) -> ScheduleService:
        """This service with ``clock`` as its "now" (for creation times, due slots, claims)."""
        return ScheduleService(self.context, self._pipelines, clock=clock)

    def _now(self) -> dt.datetime:
        moment = self.clock()
        if moment.tzinfo is None:
            raise InvalidInputError("the schedule clock must return timezone-aware (UTC) times")
        return moment.astimezone(dt.UTC)

    # -- managing ------------------------------------------------------------------------------
    def create(
        self,
        name: str,
        source: str,
        cron: str,
        *,
        params: Mapping[str, Any] | None = None,
        enabled: bool = True,
    ) -> Schedule:
        """Schedule the pipeline at ``source`` (YAML path or module:attr) on ``cron`` (UTC)."""
        if not isinstance(name, str) or not name or len(name) > 200:
            raise InvalidInputError(f"schedule name {name!r} is invalid; expected 1-200 chars")
        _check_cron(cron)
        load_pipeline(  # fail now, not at 3 a.m.
            source, params, allowed_modules=self.context.settings.step_modules
        )
        row = {
            "id": new_id(),
            "name": name,
            "source": source,
            "params": dict(params or {}),
            "cron": cron,
            "enabled": enabled,
            "created_by": self.principal.name,
            "created_at": self._now(),
        }
        with self.mutation("schedule.create", "schedule", name, details={"cron": cron}) as m:
            if insert_ignore(m.conn, schedules, row) == 0:
                raise AlreadyExistsError(f"schedule {name!r} already exists")
        return self.get(name)

    def get(self, name: str) -> Schedule:
        self.authorize(Action.SCHEDULE_READ, "schedule", str(name))
        with self.store.read() as conn:
            row = conn.execute(sa.select(schedules).where(schedules.c.name == name)).one_or_none()
        if row is None:
            raise ScheduleNotFoundError(f"schedule {name!r} does not exist")
        return _schedule(row)

    def list(self) -> builtins.list[Schedule]:
        self.authorize(Action.SCHEDULE_READ, "schedule", "*")
        with self.store.read() as conn:
            rows = conn.execute(sa.select(schedules).order_by(schedules.c.name)).all()
        return [_schedule(r) for r in rows]

    def set_enabled(self, name: str, enabled: bool) -> Schedule:
        found = self.get(name)
        with self.mutation(
            "schedule.enable" if enabled else "schedule.disable", "schedule", name
        ) as m:
            m.conn.execute(
                sa.update(schedules).where(schedules.c.id == found.id).values(enabled=enabled)
            )
        return self.get(name)

    def claims(self, name: str) -> builtins.list[Claim]:
        found = self.get(name)
        c = schedule_claims
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(c).where(c.c.schedule_id == found.id).order_by(c.c.scheduled_for)
            ).all()
        return [
            Claim(name, r.scheduled_for, True, r.status, r.pipeline_run_id, r.error) for r in rows
        ]

    # -- running -------------------------------------------------------------------------------
    def due_slots(self, schedule: Schedule, now: dt.datetime) -> builtins.list[dt.datetime]:
        """Slots after the last claimed one (or the creation time) up to ``now``, oldest first."""
        from croniter import croniter

        with self.store.read() as conn:
            last = conn.execute(
                sa.select(sa.func.max(schedule_claims.c.scheduled_for)).where(
                    schedule_claims.c.schedule_id == schedule.id
                )
            ).scalar_one_or_none()
        if isinstance(last, str):  # SQLite returns max() of a timestamp column as text
            last = dt.datetime.fromisoformat(last)
        start = schedule.created_at if last is None else last
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
        it = croniter(schedule.cron, start.astimezone(dt.UTC))
        slots: builtins.list[dt.datetime] = []
        while len(slots) < MAX_SLOTS_PER_TICK:
            slot = it.get_next(dt.datetime)
            if slot > now:
                break
            slots.append(slot.astimezone(dt.UTC))
        return slots

    def tick(
        self,
        now: dt.datetime | None = None,
        *,
        scheduler_id: str | None = None,
        executor: Any = None,
        on_claim: Callable[[Claim], None] | None = None,
    ) -> builtins.list[Claim]:
        """Claim and run every due slot of every enabled schedule up to ``now`` (default: the
        service's clock); returns what was tried."""
        moment = now or self._now()
        if moment.tzinfo is None:
            raise InvalidInputError("now must be timezone-aware (UTC)")
        who = scheduler_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        results: builtins.list[Claim] = []
        for schedule in self.list():
            if not schedule.enabled:
                continue
            for slot in self.due_slots(schedule, moment):
                claim = self._claim_and_run(schedule, slot, who, executor)
                results.append(claim)
                if on_claim is not None:
                    on_claim(claim)
        return results

    def loop(
        self,
        *,
        interval: float = 30.0,
        stop: threading.Event | None = None,
        executor: Any = None,
        on_claim: Callable[[Claim], None] | None = None,
        on_tick: Callable[[dt.datetime, builtins.list[Claim]], None] | None = None,
    ) -> None:
        """Tick every ``interval`` seconds until ``stop`` is set; each tick runs the slots due at
        the clock's "now" and then calls ``on_tick(now, claims)``."""
        if interval <= 0:
            raise InvalidInputError(f"interval={interval!r} is invalid; expected seconds > 0")
        event = stop or threading.Event()
        while not event.is_set():
            moment = self._now()
            claims = self.tick(moment, executor=executor, on_claim=on_claim)
            if on_tick is not None:
                on_tick(moment, claims)
            event.wait(interval)

    def _claim_and_run(
        self, schedule: Schedule, slot: dt.datetime, who: str, executor: Any
    ) -> Claim:
        claim_id = new_id()
        with self.mutation(
            "schedule.claim", "schedule", schedule.name, details={"slot": slot.isoformat()}
        ) as m:
            won = insert_ignore(
                m.conn,
                schedule_claims,
                {
                    "id": claim_id,
                    "schedule_id": schedule.id,
                    "scheduled_for": slot,
                    "claimed_by": who[:200],
                    "claimed_at": self._now(),
                    "status": "CLAIMED",
                    "pipeline_run_id": None,
                    "error": None,
                },
            )
            m.details["won"] = bool(won)
        if not won:
            return Claim(schedule.name, slot, False)
        status, run_id, error = "SUCCEEDED", None, None
        try:
            run = self._pipelines.run(
                schedule.source,
                params=schedule.params,
                executor=executor,
                external_key=f"schedule:{schedule.name}:{slot.isoformat()}",
            )
            run_id = run.id
        except ExecutionError as exc:
            status, error = "FAILED", str(exc)
            run_id = getattr(exc, "run_id", None)
        except Exception as exc:  # a broken source must not stop the other schedules
            status, error = "FAILED", f"{type(exc).__name__}: {exc}"
        with self.mutation(
            "schedule.run", "schedule", schedule.name, details={"status": status}
        ) as m:
            m.conn.execute(
                sa.update(schedule_claims)
                .where(schedule_claims.c.id == claim_id)
                .values(status=status, pipeline_run_id=run_id, error=error)
            )
        return Claim(schedule.name, slot, True, status, run_id, error)
