"""Search budgets (trials, wall time, CPU-seconds) and the callback that enforces them.

The budget belongs to the *study*, so every worker sharing it (threads, processes, Ray tasks on
other machines) reads the same counts from the shared storage:

- ``max_trials``: trials that ran (a trial numbered beyond the budget is skipped before it
  trains, so parallel workers never overshoot);
- ``wall_time_s``: seconds since the search started (the start time is a study attribute);
- ``cpu_seconds``: the sum of the CPU time each trial measured for itself (``cpu_seconds``
  trial attribute: process CPU time for one-trial-at-a-time workers, the thread's CPU time for
  threaded trials).

When one is spent the callback records ``stop_reason`` on the study and stops it; running trials
finish, no new one starts.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

from falaj.training.errors import SearchSpaceError

__all__ = ["STOP_REASONS", "Budget", "BudgetCallback", "StudyCounts", "study_counts"]

StopReason = Literal["max_trials", "wall_time", "cpu_budget"]
STOP_REASONS: tuple[str, ...] = ("max_trials", "wall_time", "cpu_budget")
SKIPPED_ATTR = "falaj_skipped"
CPU_ATTR = "cpu_seconds"
STARTED_ATTR = "falaj_started_at"
STOP_ATTR = "stop_reason"


@dataclass(frozen=True)
class Budget:
    max_trials: int | None = None
    wall_time_s: float | None = None
    cpu_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.max_trials is None and self.wall_time_s is None and self.cpu_seconds is None:
            raise SearchSpaceError(
                "budget is empty: set at least one of max_trials, wall_time_s, cpu_seconds"
            )
        if self.max_trials is not None and (
            isinstance(self.max_trials, bool)
            or not isinstance(self.max_trials, int)
            or self.max_trials < 1
        ):
            raise SearchSpaceError(
                f"budget max_trials={self.max_trials!r} is invalid: expected a positive integer"
            )
        for key in ("wall_time_s", "cpu_seconds"):
            value = getattr(self, key)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise SearchSpaceError(
                    f"budget {key}={value!r} is invalid: expected a positive number of seconds"
                )

    @classmethod
    def from_dict(cls, data: Any) -> Budget:
        if not isinstance(data, dict):
            raise SearchSpaceError(f"budget is {data!r}: expected a mapping")
        extra = sorted(set(data) - {"max_trials", "wall_time_s", "cpu_seconds"})
        if extra:
            raise SearchSpaceError(
                f"budget has unknown field(s) {extra}: expected max_trials, wall_time_s, "
                "cpu_seconds"
            )
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_trials": self.max_trials,
            "wall_time_s": self.wall_time_s,
            "cpu_seconds": self.cpu_seconds,
        }


@dataclass(frozen=True)
class StudyCounts:
    """What the study's trials add up to (skipped over-budget trials excluded)."""

    by_state: dict[str, int]
    cpu_seconds: float

    @property
    def ran(self) -> int:
        return sum(self.by_state.values())

    @property
    def finished(self) -> int:
        """Trials that ended (complete, pruned or failed). A trial still RUNNING is not counted:
        with several workers one may have just started and be about to be skipped as over
        budget, so counting it would report more trials than the budget allows."""
        return sum(n for state, n in self.by_state.items() if state != "RUNNING")


def study_counts(study: Any) -> StudyCounts:
    by_state: dict[str, int] = {}
    cpu = 0.0
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get(SKIPPED_ATTR):
            continue
        by_state[t.state.name] = by_state.get(t.state.name, 0) + 1
        cpu += float(t.user_attrs.get(CPU_ATTR, 0.0))
    return StudyCounts(by_state, cpu)


class BudgetCallback:
    """An Optuna callback: after each trial, stop the study once a budget is spent."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def exhausted(self, study: Any) -> str | None:
        """The budget that is spent, if any (checked in a fixed order)."""
        counts = study_counts(study)
        if self.budget.max_trials is not None and counts.finished >= self.budget.max_trials:
            return "max_trials"
        if self.budget.cpu_seconds is not None and counts.cpu_seconds >= self.budget.cpu_seconds:
            return "cpu_budget"
        if self.budget.wall_time_s is not None:
            started = float(study.user_attrs.get(STARTED_ATTR, time.time()))
            if time.time() - started >= self.budget.wall_time_s:
                return "wall_time"
        return None

    def __call__(self, study: Any, trial: Any) -> None:
        reason = self.exhausted(study)
        if reason is not None:
            record_stop(study, reason)
            study.stop()


def record_stop(study: Any, reason: str) -> None:
    """Record why the study stopped (the first reason wins)."""
    if study.user_attrs.get(STOP_ATTR) is None:
        study.set_user_attr(STOP_ATTR, reason)
