"""Principal per call: one set of services and one tracking writer serve every principal; who
acted comes from the request scope; an impersonated principal is recorded beside the identity
that authenticated, and separation of duties judges both."""

from __future__ import annotations

from pathlib import Path

import pytest

from falaj.errors import PermissionDeniedError
from falaj.governance import Principal, ServiceContext, request_scope
from falaj.registry.errors import SelfApprovalError
from falaj.workspace import Workspace
from tests.registry_support import log_model

BOB = Principal("bob", roles=frozenset({"risk-approver"}))


def test_runs_are_written_as_the_principal_of_the_scope_they_started_in(ws: Workspace) -> None:
    with request_scope(principal=Principal("ana"), request_id="req-ana"):
        ana = ws.start_run("shared")
    with request_scope(principal=Principal("ben")):
        ben = ws.start_run("shared")
    # Logging happens outside any scope (or in another's): rows stay attributed to the run.
    with request_scope(principal=Principal("ben")):
        ana.log_metric("loss", 0.1)
    ben.log_metric("loss", 0.2)
    ana.end()
    ben.end()
    assert ws.tracking.get_run(ana.id).created_by == "ana"
    assert ws.tracking.get_run(ben.id).created_by == "ben"
    (created,) = ws.audit.list(action="run.create", resource_id=ana.id)
    assert (created.principal, created.request_id) == ("ana", "req-ana")
    ends = {e.resource_id: e.principal for e in ws.audit.list(action="run.end")}
    assert ends == {ana.id: "ana", ben.id: "ben"}
    assert ana._writer is ben._writer is ws.tracking.writer  # one writer serves both


def test_as_principal_shares_the_services_and_records_the_real_identity(ws: Workspace) -> None:
    tracking = ws.tracking
    bob = ws.as_principal(BOB)
    with bob.start_run("as-bob") as run:
        run.log_param("p", 1)
    assert ws.tracking is tracking and "tracking" in ws.__dict__
    assert ws.tracking.get_run(run.id).created_by == "bob"
    (event,) = ws.audit.list(action="run.create", resource_id=run.id)
    assert event.principal == "bob"
    assert event.details["authenticated"] == str(Principal.local())


def test_the_creator_acting_as_someone_else_may_not_approve(tmp_path: Path) -> None:
    me = Principal.local()
    with Workspace.init(tmp_path / "ws", principal=me) as ws:
        mv = ws.registry.create_version("m", log_model(ws))
        with pytest.raises(SelfApprovalError, match=f"{me.name} created model 'm'.*acting as bob"):
            ws.as_principal(BOB).registry.approve("m", mv.version, comment="looks fine")
        with pytest.raises(SelfApprovalError, match="separation of duties"):
            ws.as_principal(Principal(me.name.upper())).registry.approve(
                "m", mv.version, comment="looks fine"
            )
        assert ws.registry.approvals("m", mv.version) == []
        denied = ws.audit.list(action="model.approve")
        assert [e.outcome for e in denied] == ["failure", "failure"]
        assert denied[-1].details["attested_by"] == me.name


def test_an_approval_by_another_identity_records_who_attested_it(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws", principal=Principal("ci-trainer", kind="service")) as ws:
        mv = ws.registry.create_version("m", log_model(ws))
        approval = ws.as_principal(BOB).registry.approve("m", mv.version, comment="reviewed")
        assert approval.approver == "bob"
        (event,) = ws.audit.list(action="model.approve")
        assert event.details["attested_by"] == Principal.local().name
        assert event.details["authenticated"] == str(Principal.local())


def test_a_context_without_a_default_principal_refuses_calls_outside_a_scope(
    ws: Workspace,
) -> None:
    from falaj.governance import LocalOwnerPolicy
    from falaj.tracking.service import TrackingService

    server_like = ServiceContext(ws.store, None, ws.settings, LocalOwnerPolicy())
    tracking = TrackingService(server_like, ws.artifacts)
    with pytest.raises(PermissionDeniedError, match="no principal"):
        tracking.list_experiments()
    with request_scope(principal=Principal("token-user")):
        assert tracking.list_experiments() == []


class _Counting:
    """Allows everything and counts what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def authorize(self, principal: Principal, action: object, resource: object) -> None:
        self.asked.append(str(action))


def test_a_runs_logging_is_authorized_once_at_start_never_in_the_background(
    tmp_path: Path,
) -> None:
    """Regression: the writer thread authorized every batch; a refused batch was re-queued and
    retried forever, appending a denied event on every retry."""
    Workspace.init(tmp_path / "ws").close()
    policy = _Counting()
    with Workspace.open(tmp_path / "ws", authorizer=policy) as ws:
        with ws.start_run("quiet") as run:
            for i in range(5000):
                run.log_metric("loss", 1.0, step=i)
            run.flush()
            for i in range(5000, 6000):
                run.log_metric("loss", 1.0, step=i)
        assert policy.asked.count("run.log") == 1
        assert policy.asked.count("run.create") == 1
        assert len(ws.tracking.metric_history(run.id, "loss")) == 6000
