"""The rollout driver: gather the inputs of :func:`falaj.serving.rollout.decide`, record the
decision through ``ws.serving``.

The clock is injected (``clock`` returns an aware datetime), so tests and the demo drive analysis
windows without waiting; the aggregates it judges are the ones real replicas recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from falaj.serving.rollout import AccuracySource, Decision, RolloutPolicy, decide
from falaj.store.schema import utcnow

if TYPE_CHECKING:
    from falaj.serving.service import ServingService

__all__ = ["RolloutController"]


class RolloutController:
    """Judges a deployment's running rollout once per :meth:`tick`."""

    def __init__(
        self,
        service: ServingService,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        accuracy: AccuracySource | None = None,
    ) -> None:
        self._service = service
        self._clock = clock
        self._accuracy = accuracy

    def evaluate(self, deployment: str) -> Decision | None:
        """What the controller would decide now (None without a running rollout); records
        nothing."""
        ro = self._service.get_rollout(deployment)
        if ro.state != "running":
            return None
        since = ro.step_started_at
        sums = self._service.summaries(deployment, [ro.canary_revision, ro.stable_revision], since)
        canary_acc = stable_acc = None
        if self._accuracy is not None:
            canary_acc = self._accuracy.accuracy(deployment, ro.canary_revision, since)
            stable_acc = self._accuracy.accuracy(deployment, ro.stable_revision, since)
        return decide(
            policy=RolloutPolicy.from_dict(ro.policy),
            steps=ro.steps,
            step_index=ro.step_index,
            step_started_at=since,
            now=self._clock(),
            canary=sums[ro.canary_revision],
            stable=sums[ro.stable_revision],
            canary_accuracy=canary_acc,
            stable_accuracy=stable_acc,
        )

    def tick(self, deployment: str, *, record_waits: bool = False) -> Decision | None:
        """Judge once and act: advance, promote or roll back (recorded with the evidence in the
        rollout's decisions and the audit trail); ``wait`` is recorded only when asked."""
        decision = self.evaluate(deployment)
        if decision is None:
            return None
        if decision.action != "wait" or record_waits:
            self._service.apply_decision(deployment, decision, now=self._clock())
        return decision
