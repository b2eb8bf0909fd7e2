"""The unit of work: services join the caller's transaction; a change, its lineage and its audit
events commit together or not at all; refusals and failures stay audited after a rollback."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from falaj.errors import AlreadyExistsError, ConflictError, PermissionDeniedError
from falaj.governance import Action, Binding, Principal, RoleBindingAuthorizer
from falaj.lineage.graph import Node
from falaj.workspace import Workspace


def _count(ws: Workspace, sql: str) -> int:
    with ws.store.read() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


def test_changes_across_areas_roll_back_together(ws: Workspace) -> None:
    events = _count(ws, "SELECT count(*) FROM audit_events")
    with pytest.raises(RuntimeError, match="boom"), ws.unit_of_work():
        ws.tracking.create_experiment("exp-a")
        ws.lineage.record(Node("run", "r1"), Node("deployment", "d1"), "served")
        digest = ws.artifacts.put_bytes(b"payload").digest
        with ws.store.read() as conn:  # reads inside see the unit's own rows
            assert conn.execute(sa.text("SELECT count(*) FROM tracking_experiments")).scalar() == 1
        raise RuntimeError("boom")
    assert _count(ws, "SELECT count(*) FROM tracking_experiments") == 0
    assert _count(ws, "SELECT count(*) FROM lineage_edges WHERE target_id = 'd1'") == 0
    assert not ws.artifacts.exists(digest)
    assert _count(ws, "SELECT count(*) FROM audit_events") == events


def test_changes_across_areas_commit_together(ws: Workspace) -> None:
    with ws.unit_of_work():
        ws.tracking.create_experiment("exp-b")
        ws.lineage.record(Node("run", "r2"), Node("deployment", "d2"), "served")
    assert _count(ws, "SELECT count(*) FROM tracking_experiments WHERE name = 'exp-b'") == 1
    actions = [e.action for e in ws.audit.list(newest_first=False)][-2:]
    assert actions == ["experiment.create", "lineage.record"]


def test_a_failed_call_inside_rolls_back_alone_and_is_audited_once(ws: Workspace) -> None:
    with ws.unit_of_work():
        ws.tracking.create_experiment("exp-c")
        with pytest.raises(AlreadyExistsError):
            ws.tracking.create_experiment("exp-c")
        ws.tracking.create_experiment("exp-d")
    assert _count(ws, "SELECT count(*) FROM tracking_experiments") == 2
    outcomes = [e.outcome for e in ws.audit.list(action="experiment.create", newest_first=False)]
    assert outcomes == ["success", "failure", "success"]


def test_a_refusal_inside_a_unit_that_rolls_back_stays_audited_once(ws: Workspace) -> None:
    authz = RoleBindingAuthorizer(
        [Binding("eve", "creator")], roles={"creator": [Action.EXPERIMENT_CREATE]}
    )
    eve = Workspace.open(ws.home, principal=Principal("eve"), authorizer=authz)
    try:
        with pytest.raises(PermissionDeniedError), eve.unit_of_work():
            eve.tracking.create_experiment("exp-e")
            eve.lineage.record(Node("run", "r3"), Node("deployment", "d3"), "served")
    finally:
        eve.close()
    assert _count(ws, "SELECT count(*) FROM tracking_experiments") == 0
    events = [(e.principal, e.action, e.outcome) for e in ws.audit.list(principal="eve")]
    assert events == [("eve", "lineage.record", "denied")]


def test_audit_without_a_change_is_authorized_and_recorded(ws: Workspace) -> None:
    ws.lineage.audit(Action.LINEAGE_READ, "lineage", "export", details={"format": "json"})
    (event,) = ws.audit.list(action="lineage.read")
    assert event.resource_id == "export" and event.details == {
        "format": "json",
        "authenticated": str(Principal.local()),
    }


def test_flushing_the_writer_inside_a_unit_of_work_is_refused(ws: Workspace) -> None:
    run = ws.start_run("uow")
    run.log_metric("m", 1.0)
    with pytest.raises(ConflictError, match="inside an open transaction"), ws.unit_of_work():
        ws.tracking.flush()
    run.end()
    assert ws.tracking.get_run(run.id).metrics == {"m": 1.0}
