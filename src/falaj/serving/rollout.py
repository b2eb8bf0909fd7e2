"""Rollout decisions: pure judgment of a canary against the stable revision.

:func:`decide` takes frozen inputs (the rollout's policy, where it stands, the two revisions'
request summaries since the step began, optional accuracies, and *now*) and returns a
:class:`Decision` whose ``evidence`` holds every number it was judged on. No clock, no store:
the driver (:mod:`falaj.serving.controller`) gathers the inputs and records the outcome.

The rules, in order:

1. rollback at once when the canary already has ``min_requests`` requests and breaks a limit
   (a bad canary is stopped without waiting for the window to end);
2. wait while the step's analysis window is still open, or the canary has fewer than
   ``min_requests`` requests;
3. at the window's end, judge: any failed check → rollback; all passed → advance to the next
   step, or promote after the last one.

Checks: error rate (``max_error_rate``, absolute, and no more than the stable's plus
``max_error_rate_increase``); p99 latency (``max_p99_ms``, and ``max_p99_ratio`` of the
stable's with ``p99_slack_ms`` of slack, since the latency histogram's buckets are coarse);
prediction-distribution shift (PSI of the canary's prediction sketch against the stable's over
``max_psi``, counted only when a chi-square test also finds it significant at ``shift_alpha``:
small samples make PSI large by chance); and accuracy when an :class:`AccuracySource` gives
both (``max_accuracy_drop``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any, Literal, Protocol

from falaj.errors import InvalidInputError
from falaj.serving.stats import Summary, psi, shift_p_value

__all__ = [
    "AccuracySource",
    "Check",
    "Decision",
    "RolloutPolicy",
    "decide",
    "parse_steps",
]

Action = Literal["wait", "advance", "promote", "rollback"]


class AccuracySource(Protocol):
    """Accuracy of a revision's answers once feedback exists (the monitoring package implements
    it); ``None`` when there is not enough labelled feedback yet."""

    def accuracy(
        self, deployment: str, revision_id: str, since: dt.datetime
    ) -> tuple[float, int] | None:
        """(accuracy, labelled count) of the revision's predictions since ``since``."""


@dataclass(frozen=True)
class RolloutPolicy:
    """How a canary is judged. Times in seconds, rates as fractions, latency in ms."""

    window_s: float = 300.0
    min_requests: int = 100
    max_error_rate: float = 0.01
    max_error_rate_increase: float = 0.005
    max_p99_ms: float | None = None
    max_p99_ratio: float = 1.5
    p99_slack_ms: float = 5.0
    max_psi: float = 0.2
    shift_alpha: float = 0.01
    max_accuracy_drop: float = 0.02
    min_labelled: int = 50

    def __post_init__(self) -> None:
        for name in ("window_s", "max_error_rate", "max_error_rate_increase", "max_psi"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                raise InvalidInputError(
                    f"rollout policy {name}={value!r} is invalid: expected >= 0"
                )
        if not isinstance(self.min_requests, int) or self.min_requests < 1:
            raise InvalidInputError(
                f"rollout policy min_requests={self.min_requests!r} is invalid: expected >= 1"
            )
        if self.max_p99_ratio < 1:
            raise InvalidInputError(
                f"rollout policy max_p99_ratio={self.max_p99_ratio!r} is invalid: expected >= 1"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RolloutPolicy:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(
                f"rollout policy field {unknown[0]!r} is unknown: expected one of "
                f"{', '.join(sorted(known))}"
            )
        return cls(**dict(data))


def parse_steps(text: str | Sequence[float]) -> tuple[float, ...]:
    """Canary steps (percent) from ``"5,25,50,100"`` or a sequence: increasing, in (0, 100],
    ending at 100."""
    raw: list[Any] = text.split(",") if isinstance(text, str) else list(text)
    try:
        steps = tuple(float(str(s).strip()) for s in raw)
    except ValueError:
        raise InvalidInputError(
            f"canary steps {text!r} are invalid: expected percentages like 5,25,50,100"
        ) from None
    if not steps or any(not 0 < s <= 100 for s in steps):
        raise InvalidInputError(f"canary steps {text!r} are invalid: each must be in (0, 100]")
    if any(b <= a for a, b in pairwise(steps)):
        raise InvalidInputError(f"canary steps {text!r} are invalid: expected increasing values")
    if steps[-1] != 100:
        raise InvalidInputError(f"canary steps {text!r} are invalid: the last step must be 100")
    return steps


@dataclass(frozen=True)
class Check:
    """One judged condition with its observed value and limit."""

    name: str
    passed: bool
    value: float | None
    limit: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    step_index: int
    next_weight: float | None
    checks: tuple[Check, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "reason": self.reason,
            "step_index": self.step_index,
            "next_weight": self.next_weight,
            "checks": [c.to_dict() for c in self.checks],
            "evidence": self.evidence,
        }


def _checks(
    policy: RolloutPolicy,
    canary: Summary,
    stable: Summary,
    accuracy: tuple[tuple[float, int] | None, tuple[float, int] | None],
) -> list[Check]:
    checks: list[Check] = []
    err_limit = min(policy.max_error_rate, stable.error_rate + policy.max_error_rate_increase)
    err_limit = max(err_limit, 0.0) if stable.requests else policy.max_error_rate
    checks.append(
        Check(
            "error_rate",
            canary.error_rate <= err_limit,
            round(canary.error_rate, 6),
            round(err_limit, 6),
            f"{canary.errors} errors in {canary.requests} requests "
            f"(stable: {stable.errors} in {stable.requests})",
        )
    )
    limits = []
    if policy.max_p99_ms is not None:
        limits.append(policy.max_p99_ms)
    if stable.p99_ms is not None and stable.requests >= policy.min_requests:
        # compared only on a stable sample as large as the canary's must be; histogram buckets
        # are coarse, so a small absolute slack is allowed
        limits.append(
            max(stable.p99_ms * policy.max_p99_ratio, stable.p99_ms + policy.p99_slack_ms)
        )
    if canary.p99_ms is not None and limits:
        limit = min(limits)
        checks.append(
            Check(
                "latency_p99_ms",
                canary.p99_ms <= limit,
                canary.p99_ms,
                limit,
                f"canary p99 {canary.p99_ms} ms, stable p99 {stable.p99_ms} ms",
            )
        )
    if stable.predictions and canary.predictions:
        shift = psi(stable.predictions, canary.predictions)
        p_value = shift_p_value(stable.predictions, canary.predictions)
        checks.append(
            Check(
                "prediction_psi",
                shift <= policy.max_psi or p_value >= policy.shift_alpha,
                round(shift, 6),
                policy.max_psi,
                "population stability index of the canary's predictions against the stable's "
                f"(chi-square p-value {p_value:.3g}; a shift fails only when p < "
                f"{policy.shift_alpha:g} too)",
            )
        )
    canary_acc, stable_acc = accuracy
    if (
        canary_acc is not None
        and stable_acc is not None
        and min(canary_acc[1], stable_acc[1]) >= policy.min_labelled
    ):
        drop = stable_acc[0] - canary_acc[0]
        checks.append(
            Check(
                "accuracy_drop",
                drop <= policy.max_accuracy_drop,
                round(drop, 6),
                policy.max_accuracy_drop,
                f"canary {canary_acc[0]:.4f} on {canary_acc[1]} labels, "
                f"stable {stable_acc[0]:.4f} on {stable_acc[1]}",
            )
        )
    return checks


def decide(
    *,
    policy: RolloutPolicy,
    steps: Sequence[float],
    step_index: int,
    step_started_at: dt.datetime,
    now: dt.datetime,
    canary: Summary,
    stable: Summary,
    canary_accuracy: tuple[float, int] | None = None,
    stable_accuracy: tuple[float, int] | None = None,
) -> Decision:
    """Judge the current step of a running rollout (see the module docstring)."""
    elapsed = (now - step_started_at).total_seconds()
    checks = tuple(_checks(policy, canary, stable, (canary_accuracy, stable_accuracy)))
    evidence: dict[str, Any] = {
        "canary": canary.to_dict(),
        "stable": stable.to_dict(),
        "step": step_index,
        "weight": steps[step_index],
        "elapsed_s": round(elapsed, 3),
        "window_s": policy.window_s,
        "min_requests": policy.min_requests,
        "checks": [c.to_dict() for c in checks],
    }
    failed = [c for c in checks if not c.passed]
    enough = canary.requests >= policy.min_requests
    if enough and failed:
        names = ", ".join(f"{c.name} {c.value} > {c.limit}" for c in failed)
        return Decision("rollback", f"canary failed: {names}", step_index, 0.0, checks, evidence)
    if elapsed < policy.window_s:
        return Decision(
            "wait",
            f"analysis window open ({elapsed:.0f}s of {policy.window_s:.0f}s)",
            step_index,
            None,
            checks,
            evidence,
        )
    if not enough:
        return Decision(
            "wait",
            f"not enough canary traffic ({canary.requests} of {policy.min_requests} requests)",
            step_index,
            None,
            checks,
            evidence,
        )
    if step_index + 1 >= len(steps):
        return Decision(
            "promote", "every step passed its checks", step_index, 100.0, checks, evidence
        )
    nxt = steps[step_index + 1]
    return Decision(
        "advance",
        f"step {step_index + 1} of {len(steps)} passed; canary to {nxt:g}%",
        step_index + 1,
        nxt,
        checks,
        evidence,
    )
