from __future__ import annotations

import datetime as dt

import pytest

from falaj.errors import AlreadyExistsError, InvalidInputError
from falaj.serving import (
    DeploymentNotFoundError,
    RevisionNotFoundError,
    RolloutPolicy,
    RolloutStateError,
)
from falaj.serving.controller import RolloutController
from falaj.serving.stats import RevisionStats
from falaj.workspace import Workspace
from tests.serving_support import MODEL, register

pytestmark = pytest.mark.slow


@pytest.fixture
def versions(ws: Workspace) -> tuple[int, int]:
    one, two = register(ws), register(ws)
    ws.registry.set_alias(MODEL, "champion", one, reason="test")
    return one, two


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def test_a_deployment_pins_the_version_digest_and_records_lineage(
    ws: Workspace, versions: tuple[int, int]
) -> None:
    dep = ws.serving.create_deployment("credit", f"{MODEL}@champion", routing_key="header:X-User")
    mv = ws.registry.get_version(MODEL, versions[0])
    (rev,) = dep.revisions
    assert (rev.model_version, rev.artifact_digest, rev.weight) == (
        mv.version,
        mv.artifact_digest,
        100,
    )
    assert dep.routing_key == "header:x-user" and dep.generation == 1
    assert [d.name for d in ws.serving.list_deployments()] == ["credit"]
    edges = ws.lineage.upstream("deployment:credit")
    assert (f"model_version:{MODEL}/{versions[0]}", "serves") in {
        (str(e.source), e.relation) for e in edges if str(e.target) == "deployment:credit"
    }
    events = ws.audit.list(action="deployment.create")
    assert events[0].details["digest"] == mv.artifact_digest
    with pytest.raises(AlreadyExistsError):
        ws.serving.create_deployment("credit", f"{MODEL}/1")


def test_bad_input_is_refused_naming_it_and_changes_nothing(
    ws: Workspace, versions: tuple[int, int]
) -> None:
    with pytest.raises(InvalidInputError, match="deployment name 'Credit Risk'"):
        ws.serving.create_deployment("Credit Risk", f"{MODEL}/1")
    with pytest.raises(InvalidInputError, match="model reference"):
        ws.serving.create_deployment("credit", "credit/x")
    with pytest.raises(InvalidInputError, match="routing key"):
        ws.serving.create_deployment("credit", f"{MODEL}/1", routing_key="cookie:x")
    with pytest.raises(DeploymentNotFoundError):
        ws.serving.get_deployment("credit")
    ws.serving.create_deployment("credit", f"{MODEL}/1")
    with pytest.raises(InvalidInputError, match="weight 120"):
        ws.serving.add_revision("credit", f"{MODEL}/2", weight=120)
    with pytest.raises(InvalidInputError, match="not both"):
        ws.serving.add_revision("credit", f"{MODEL}/2", weight=10, shadow_fraction=0.5)
    with pytest.raises(RevisionNotFoundError, match="no serving revision 'nope'"):
        ws.serving.set_traffic("credit", {"nope": 10})
    only = ws.serving.get_deployment("credit").revisions[0].id
    with pytest.raises(InvalidInputError, match="no traffic"):
        ws.serving.set_traffic("credit", {only: 0})
    with pytest.raises(InvalidInputError, match="only one taking traffic"):
        ws.serving.retire_revision("credit", only)
    assert ws.serving.get_deployment("credit").generation == 1


def test_revisions_weights_and_retirement_bump_the_generation(
    ws: Workspace, versions: tuple[int, int]
) -> None:
    dep = ws.serving.create_deployment("credit", f"{MODEL}/1")
    b = ws.serving.add_revision("credit", f"{MODEL}/2", weight=20)
    s = ws.serving.add_revision("credit", f"{MODEL}/2", shadow_fraction=0.1)
    assert (s.role, s.shadow_fraction) == ("shadow", 0.1)
    after = ws.serving.set_traffic("credit", {dep.revisions[0].id[:8]: 80})
    assert {r.id: r.weight for r in after.serving} == {dep.revisions[0].id: 80, b.id: 20}
    final = ws.serving.retire_revision("credit", s.id)
    assert [r.id for r in final.revisions] == [dep.revisions[0].id, b.id]
    assert final.generation == 5


def _record(
    ws: Workspace,
    name: str,
    rev: str,
    at: dt.datetime,
    n: int,
    sketch: dict[str, int],
    errors: int = 0,
) -> None:
    stats = RevisionStats()
    for i in range(n):
        stats.observe(1.5, error=i < errors)
    stats.predictions = dict(sketch)
    ws.serving.record_aggregates(name, "replica-a", at - dt.timedelta(seconds=5), at, {rev: stats})


def test_controller_advances_then_promotes_on_recorded_aggregates_with_a_fake_clock(
    ws: Workspace, versions: tuple[int, int]
) -> None:
    ws.serving.create_deployment("credit", f"{MODEL}/1")
    t0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    policy = RolloutPolicy(window_s=600, min_requests=50)
    ro = ws.serving.start_rollout("credit", f"{MODEL}/2", steps="10,100", policy=policy, now=t0)
    assert ro.weight == 10 and ro.state == "running"
    clock = Clock(t0 + dt.timedelta(seconds=60))
    controller = RolloutController(ws.serving, clock=clock)
    sketch = {"p:0.1": 60, "p:0.9": 40}
    _record(ws, "credit", ro.stable_revision, clock.now, 900, {k: v * 9 for k, v in sketch.items()})
    _record(ws, "credit", ro.canary_revision, clock.now, 100, sketch)
    assert controller.tick("credit").action == "wait"  # type: ignore[union-attr]
    clock.now = t0 + dt.timedelta(seconds=601)
    assert controller.tick("credit").action == "advance"  # type: ignore[union-attr]
    dep = ws.serving.get_deployment("credit")
    assert {r.id: r.weight for r in dep.revisions} == {
        ro.stable_revision: 0,
        ro.canary_revision: 100,
    }
    clock.now += dt.timedelta(seconds=30)
    _record(ws, "credit", ro.canary_revision, clock.now, 100, sketch)
    clock.now += dt.timedelta(seconds=600)
    assert controller.tick("credit").action == "promote"  # type: ignore[union-attr]
    done = ws.serving.get_rollout("credit")
    assert done.state == "promoted"
    assert [d.decision for d in done.decisions] == ["start", "advance", "promote"]
    assert done.decisions[-1].evidence["evidence"]["canary"]["requests"] == 100
    assert [r.id for r in ws.serving.get_deployment("credit").revisions] == [ro.canary_revision]
    assert controller.tick("credit") is None


def test_controller_rolls_back_a_failing_canary_with_its_evidence_in_the_audit_trail(
    ws: Workspace, versions: tuple[int, int]
) -> None:
    ws.serving.create_deployment("credit", f"{MODEL}/1")
    t0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    ro = ws.serving.start_rollout(
        "credit", f"{MODEL}/2", policy=RolloutPolicy(min_requests=50), now=t0
    )
    clock = Clock(t0 + dt.timedelta(seconds=30))
    _record(ws, "credit", ro.stable_revision, clock.now, 1000, {"p:0.1": 1000})
    _record(ws, "credit", ro.canary_revision, clock.now, 60, {"p:0.1": 60}, errors=12)
    decision = RolloutController(ws.serving, clock=clock).tick("credit")
    assert decision is not None and decision.action == "rollback"
    event = ws.audit.list(action="deployment.rollout")[0]
    assert event.details["decision"] == "rollback"
    checks = {c["name"]: c for c in event.details["evidence"]["checks"]}
    assert checks["error_rate"]["value"] == 0.2 and not checks["error_rate"]["passed"]
    dep = ws.serving.get_deployment("credit")
    assert [(r.id, r.weight) for r in dep.revisions] == [(ro.stable_revision, 100)]


def test_manual_pause_resume_promote_rollback(ws: Workspace, versions: tuple[int, int]) -> None:
    ws.serving.create_deployment("credit", f"{MODEL}/1")
    ro = ws.serving.start_rollout("credit", f"{MODEL}/2")
    with pytest.raises(RolloutStateError, match="already has a rollout"):
        ws.serving.start_rollout("credit", f"{MODEL}/2")
    assert ws.serving.pause("credit").state == "paused"
    assert RolloutController(ws.serving).tick("credit") is None
    with pytest.raises(RolloutStateError, match="not paused"):
        ws.serving.resume("credit")
        ws.serving.resume("credit")
    assert ws.serving.rollback("credit", reason="customer complaints").state == "rolled_back"
    assert ws.serving.get_rollout("credit").decisions[-1].reason == "customer complaints"
    again = ws.serving.start_rollout("credit", f"{MODEL}/2")
    assert again.id != ro.id
    assert ws.serving.promote("credit").state == "promoted"
    assert [r.model_version for r in ws.serving.get_deployment("credit").revisions] == [2]
