"""Approvals and promotions on every metadata backend (SQLite and PostgreSQL): the gates are
evaluated inside promote's transaction, which locks the registered model's row on PostgreSQL."""

from __future__ import annotations

import pytest

from falaj.governance.principal import Principal
from falaj.registry.errors import GatesFailedError, SelfApprovalError
from falaj.workspace import Workspace
from tests.registry_support import log_model

MODEL = "credit-risk"
POLICY = (
    "risk: medium\nmetrics:\n  roc_auc: {min: 0.75}\nchampion:\n  metrics:\n"
    "    roc_auc: {max_drop: 0.005}\nresidency: {allowed_regions: [ae-dubai-1]}\n"
    "approvals: {count: 1, role: risk-approver}\n"
)


def _version(ws: Workspace, auc: float) -> int:
    version = ws.registry.create_version(MODEL, log_model(ws, metrics={"roc_auc": auc})).version
    ws.registry.attach_evidence(MODEL, version, "evaluation", summary={"metrics": {"roc_auc": auc}})
    return version


def test_promotion_through_gates_and_a_second_approver(any_ws: Workspace) -> None:
    first = _version(any_ws, 0.80)
    any_ws.registry.set_alias(MODEL, "champion", first, reason="bootstrap")
    candidate = _version(any_ws, 0.82)
    any_ws.registry.set_policy(MODEL, POLICY)
    with pytest.raises(SelfApprovalError):
        any_ws.registry.approve(MODEL, candidate, comment="my own work")
    bob = any_ws.as_principal(Principal("bob", roles=frozenset({"risk-approver"})))
    bob.registry.approve(MODEL, candidate, comment="evaluation reviewed")
    report = any_ws.registry.check_gates(MODEL, candidate)
    assert report.passed and [c.kind for c in report.conditions] == [
        "metric",
        "champion",
        "residency",
        "approvals",
    ]
    record = any_ws.registry.promote(MODEL, candidate, reason="better AUC")
    assert (record.from_version, record.version, record.risk) == (first, candidate, "medium")
    assert [a["approver"] for a in record.approvers] == ["bob"]
    assert any_ws.registry.aliases(MODEL) == {"champion": candidate}
    assert any_ws.registry.promotions(MODEL) == [record]


def test_a_refused_promotion_changes_nothing(any_ws: Workspace) -> None:
    first = _version(any_ws, 0.80)
    any_ws.registry.set_alias(MODEL, "champion", first, reason="bootstrap")
    worse = _version(any_ws, 0.79)  # drops 0.01 > 0.005, and nobody approved
    any_ws.registry.set_policy(MODEL, POLICY)
    moves_before = any_ws.registry.alias_history(MODEL)
    with pytest.raises(GatesFailedError, match="2 gate condition"):
        any_ws.registry.promote(MODEL, worse, reason="try it")
    assert any_ws.registry.aliases(MODEL) == {"champion": first}
    assert any_ws.registry.alias_history(MODEL) == moves_before
    assert any_ws.registry.promotions(MODEL) == []
    event = any_ws.audit.list(action="model.promote")[0]
    assert (event.outcome, event.resource_id) == ("failure", f"{MODEL}/{worse}")
    failed = sorted(c["kind"] for c in event.details["gates"]["conditions"] if not c["passed"])
    assert failed == ["approvals", "champion"]
