"""Promotion gates end to end on a real workspace: one failing test per kind of condition,
separation of duties, and promotions that either move the alias with a change record or change
nothing."""

from __future__ import annotations

import pytest

from falaj.errors import AlreadyExistsError, PolicyViolationError
from falaj.governance.principal import Principal
from falaj.registry.errors import GatesFailedError, PolicyNotFoundError, SelfApprovalError
from falaj.registry.gates import GateReport
from falaj.workspace import Workspace
from tests.registry_support import log_model

MODEL = "credit-risk"
JUSTIFICATION = "Four-fifths rule as adopted by the credit committee on 2026-03-01"


def _register(ws: Workspace, *, eval_auc: float | None = None, run_auc: float = 0.8) -> int:
    mv = ws.registry.create_version(MODEL, log_model(ws, metrics={"roc_auc": run_auc}))
    if eval_auc is not None:
        ws.registry.attach_evidence(
            MODEL, mv.version, "evaluation", summary={"metrics": {"roc_auc": eval_auc}}
        )
    return mv.version


def _only_failure(report: GateReport, kind: str) -> None:
    assert [c.kind for c in report.failures] == [kind], report.as_dict()


def _bob(ws: Workspace) -> Workspace:
    return ws.as_principal(Principal("bob", roles=frozenset({"risk-approver"})))


def test_metric_gate_fails_below_its_threshold(ws: Workspace) -> None:
    version = _register(ws, eval_auc=0.80)
    ws.registry.set_policy(MODEL, "risk: high\nmetrics:\n  roc_auc: {min: 0.85}\n")
    report = ws.registry.check_gates(MODEL, version)
    _only_failure(report, "metric")
    (cond,) = report.conditions
    assert (cond.actual, cond.expected) == (0.80, ">= 0.85")
    assert cond.evidence.startswith("evaluation evidence")


def test_metric_gate_reads_the_run_when_no_evaluation_is_attached(ws: Workspace) -> None:
    version = _register(ws, run_auc=0.91)
    ws.registry.set_policy(MODEL, "risk: low\nmetrics:\n  roc_auc: {min: 0.85}\n")
    (cond,) = ws.registry.check_gates(MODEL, version).conditions
    assert cond.passed and cond.actual == pytest.approx(0.91)
    assert "metric roc_auc" in cond.evidence


def test_metric_gate_fails_when_the_metric_was_never_measured(ws: Workspace) -> None:
    version = _register(ws)
    ws.registry.set_policy(MODEL, "risk: low\nmetrics:\n  pr_auc: {min: 0.5}\n")
    report = ws.registry.check_gates(MODEL, version)
    _only_failure(report, "metric")
    assert report.conditions[0].evidence == "no 'pr_auc' in evaluation evidence or run metrics"


def test_fairness_gate_fails_over_threshold_and_carries_the_justification(ws: Workspace) -> None:
    version = _register(ws)
    ws.registry.attach_evidence(
        MODEL,
        version,
        "fairness",
        summary={
            "sensitive_features": ["sex"],
            "metrics": {"demographic_parity_difference": 0.14},
            "passed": False,
            "unreliable_groups": [],
        },
    )
    ws.registry.set_policy(
        MODEL,
        "risk: high\nfairness:\n  demographic_parity_difference:\n    max: 0.1\n"
        f"    justification: {JUSTIFICATION}\n",
    )
    report = ws.registry.check_gates(MODEL, version)
    _only_failure(report, "fairness")
    (cond,) = report.conditions
    assert (cond.actual, cond.expected, cond.justification) == (0.14, "<= 0.1", JUSTIFICATION)


def test_validation_gate_fails_when_the_run_used_no_recorded_dataset(ws: Workspace) -> None:
    version = _register(ws)
    ws.registry.set_policy(MODEL, "risk: high\nvalidation: {require: passed}\n")
    report = ws.registry.check_gates(MODEL, version)
    _only_failure(report, "validation")
    assert "recorded no input dataset" in report.conditions[0].evidence


def test_validation_gate_fails_for_an_input_dataset_never_validated(ws: Workspace) -> None:
    import pandas as pd

    dataset = ws.datasets.register("applicants", pd.DataFrame({"income": [1.0, 2.0, 3.0]}))
    logged = log_model(ws, dataset_ids=[dataset.id])
    version = ws.registry.create_version(MODEL, logged).version
    ws.registry.set_policy(MODEL, "risk: high\nvalidation: {require: passed}\n")
    report = ws.registry.check_gates(MODEL, version)
    _only_failure(report, "validation")
    (cond,) = report.conditions
    assert (cond.name, cond.actual) == (dataset.id, "never validated")


def test_validation_gate_follows_the_datasets_validation_status(ws: Workspace) -> None:
    import pandas as pd

    good = ws.datasets.register("applicants", pd.DataFrame({"income": [1.0, 2.0, 3.0]}))
    bad = ws.datasets.register("bureau", pd.DataFrame({"score": [-5.0, 2.0]}))
    ws.datasets.validate(good.id, {"columns": {"income": {"type": "float", "min": 0}}})
    ws.datasets.validate(bad.id, {"columns": {"score": {"type": "float", "min": 0}}}, policy="warn")
    version = ws.registry.create_version(
        MODEL, log_model(ws, dataset_ids=[good.id, bad.id])
    ).version
    ws.registry.set_policy(MODEL, "risk: high\nvalidation: {require: passed}\n")
    report = ws.registry.check_gates(MODEL, version)
    assert [(c.name, c.actual, c.passed) for c in report.conditions] == [
        (good.id, "passed", True),
        (bad.id, "warned", False),
    ]
    ws.registry.set_policy(MODEL, "risk: high\nvalidation: {require: passed_or_warned}\n")
    assert ws.registry.check_gates(MODEL, version).passed


def test_report_gate_fails_when_a_required_report_is_missing(ws: Workspace) -> None:
    version = _register(ws, eval_auc=0.8)
    ws.registry.set_policy(MODEL, "risk: medium\nreports: [evaluation, model_card]\n")
    report = ws.registry.check_gates(MODEL, version)
    _only_failure(report, "report")
    assert [(c.name, c.passed) for c in report.conditions] == [
        ("evaluation", True),
        ("model_card", False),
    ]


@pytest.mark.parametrize("retire", ["archive", "delete_version"])
def test_gates_fail_for_a_version_that_is_not_ready(ws: Workspace, retire: str) -> None:
    version = _register(ws, eval_auc=0.8)
    ws.registry.set_policy(MODEL, "risk: low\nmetrics:\n  roc_auc: {min: 0.7}\n")
    assert ws.registry.check_gates(MODEL, version).passed
    getattr(ws.registry, retire)(MODEL, version, reason="superseded")
    report = ws.registry.check_gates(MODEL, version)
    _only_failure(report, "status")
    status = "ARCHIVED" if retire == "archive" else "DELETED"
    assert (report.conditions[0].expected, report.conditions[0].actual) == ("READY", status)
    assert report.conditions[1].kind == "metric" and report.conditions[1].passed


def test_champion_gate_fails_when_auc_drops_more_than_allowed(ws: Workspace) -> None:
    champion = _register(ws, eval_auc=0.820)
    ws.registry.set_alias(MODEL, "champion", champion, reason="first model")
    worse = _register(ws, eval_auc=0.810)
    close = _register(ws, eval_auc=0.818)
    ws.registry.set_policy(
        MODEL, "risk: high\nchampion:\n  metrics:\n    roc_auc: {max_drop: 0.005}\n"
    )
    report = ws.registry.check_gates(MODEL, worse)
    _only_failure(report, "champion")
    assert report.conditions[0].actual["drop"] == pytest.approx(0.010)
    assert ws.registry.check_gates(MODEL, close).passed


def test_champion_gate_passes_when_there_is_no_champion_yet(ws: Workspace) -> None:
    version = _register(ws, eval_auc=0.7)
    ws.registry.set_policy(
        MODEL, "risk: high\nchampion:\n  metrics:\n    roc_auc: {max_drop: 0.005}\n"
    )
    (cond,) = ws.registry.check_gates(MODEL, version).conditions
    assert cond.passed and "nothing to compare" in cond.evidence


def test_residency_gate_fails_when_the_artifact_is_stored_elsewhere(ws: Workspace) -> None:
    version = _register(ws)
    ws.registry.set_policy(MODEL, "risk: high\nresidency: {allowed_regions: [eu-west-1]}\n")
    report = ws.registry.check_gates(MODEL, version)
    _only_failure(report, "residency")
    assert report.conditions[0].actual == "ae-dubai-1"


def test_approval_gate_fails_until_a_second_principal_approves(ws: Workspace) -> None:
    version = _register(ws)
    ws.registry.set_policy(MODEL, "risk: high\napprovals: {count: 1, role: risk-approver}\n")
    report = ws.registry.check_gates(MODEL, version)
    _only_failure(report, "approvals")
    assert report.conditions[0].actual == 0
    _bob(ws).registry.approve(MODEL, version, comment="reviewed evaluation and fairness")
    report = ws.registry.check_gates(MODEL, version)
    assert report.passed and report.conditions[0].actual == 1
    assert "approved by bob" in report.conditions[0].evidence


def test_self_approval_is_refused_and_audited(ws: Workspace) -> None:
    version = _register(ws)
    alice_approver = ws.as_principal(Principal("alice", roles=frozenset({"risk-approver"})))
    with pytest.raises(SelfApprovalError, match="separation of duties"):
        alice_approver.registry.approve(MODEL, version, comment="looks good to me")
    assert ws.registry.approvals(MODEL, version) == []
    event = ws.audit.list(action="model.approve")[0]
    assert (event.principal, event.outcome) == ("alice", "failure")


def test_an_approver_without_the_policy_role_is_refused(ws: Workspace) -> None:
    version = _register(ws)
    ws.registry.set_policy(MODEL, "risk: high\napprovals: {count: 1, role: risk-approver}\n")
    carol = ws.as_principal(Principal("carol", roles=frozenset({"analyst"})))
    with pytest.raises(PolicyViolationError, match="requires the role 'risk-approver'"):
        carol.registry.approve(MODEL, version, comment="fine")
    assert ws.registry.approvals(MODEL, version) == []


def test_approving_twice_is_refused(ws: Workspace) -> None:
    version = _register(ws)
    _bob(ws).registry.approve(MODEL, version, comment="ok")
    with pytest.raises(AlreadyExistsError, match="already approved"):
        _bob(ws).registry.approve(MODEL, version, comment="ok again")


def test_a_failed_promotion_changes_nothing_and_is_audited(ws: Workspace) -> None:
    first = _register(ws, eval_auc=0.8)
    ws.registry.set_alias(MODEL, "champion", first, reason="bootstrap")
    candidate = _register(ws, eval_auc=0.9)
    ws.registry.set_policy(MODEL, "risk: high\napprovals: {count: 1, role: risk-approver}\n")
    history_before = ws.registry.alias_history(MODEL)
    with pytest.raises(GatesFailedError, match="1 gate condition"):
        ws.registry.promote(MODEL, candidate, reason="better AUC")
    assert ws.registry.aliases(MODEL) == {"champion": first}
    assert ws.registry.alias_history(MODEL) == history_before
    assert ws.registry.promotions(MODEL) == []
    event = ws.audit.list(action="model.promote")[0]
    assert (event.outcome, event.resource_id) == ("failure", f"{MODEL}/{candidate}")
    assert event.details["gates"]["passed"] is False
    assert "GatesFailedError" in event.details["error"]


def test_a_promotion_moves_the_alias_and_writes_the_change_record(ws: Workspace) -> None:
    first = _register(ws, eval_auc=0.80)
    ws.registry.set_alias(MODEL, "champion", first, reason="bootstrap")
    candidate = _register(ws, eval_auc=0.83)
    ws.registry.set_policy(
        MODEL,
        "risk: high\nmetrics:\n  roc_auc: {min: 0.75}\nchampion:\n  metrics:\n"
        "    roc_auc: {max_drop: 0.005}\napprovals: {count: 1, role: risk-approver}\n",
    )
    _bob(ws).registry.approve(MODEL, candidate, comment="evaluation reviewed")
    record = ws.registry.promote(MODEL, candidate, reason="retrained on Q3 data")
    assert (record.from_version, record.version, record.requester, record.risk) == (
        first,
        candidate,
        "alice",
        "high",
    )
    assert [a["approver"] for a in record.approvers] == ["bob"]
    assert [e["kind"] for e in record.evidence] == ["evaluation"]
    assert all(g["passed"] for g in record.gates) and len(record.gates) == 3
    assert ws.registry.get_version(MODEL, "champion").version == candidate
    assert ws.registry.alias_at(MODEL, "champion", record.created_at) == candidate
    assert ws.registry.promotions(MODEL) == [record]
    event = ws.audit.list(action="model.promote")[0]
    assert event.outcome == "success"
    change = event.details["change_record"]
    assert (change["requester"], change["risk"], change["version"]) == ("alice", "high", candidate)
    assert change["approvers"][0]["approver"] == "bob" and change["time"]
    assert ws.registry.alias_history(MODEL, "champion")[-1].reason == (
        "promotion: retrained on Q3 data"
    )


def test_promoting_without_a_policy_is_refused(ws: Workspace) -> None:
    version = _register(ws)
    with pytest.raises(PolicyNotFoundError, match="falaj gate policy set"):
        ws.registry.promote(MODEL, version, reason="ship it")
    assert ws.registry.aliases(MODEL) == {}


def test_each_policy_set_is_a_new_revision(ws: Workspace) -> None:
    _register(ws)
    ws.registry.set_policy(MODEL, "risk: low\n")
    ws.registry.set_policy(MODEL, "risk: high\n")
    policy = ws.registry.policy(MODEL)
    assert (policy.revision, policy.risk, policy.text) == (2, "high", "risk: high\n")


def test_champion_gate_on_a_loss_fails_when_it_rises_more_than_allowed(ws: Workspace) -> None:
    champion = ws.registry.create_version(MODEL, log_model(ws, metrics={"log_loss": 0.50}))
    ws.registry.set_alias(MODEL, "champion", champion.version, reason="first")
    worse = ws.registry.create_version(MODEL, log_model(ws, metrics={"log_loss": 0.53}))
    ws.registry.set_policy(
        MODEL, "risk: high\nchampion:\n  metrics:\n    log_loss: {max_increase: 0.02}\n"
    )
    report = ws.registry.check_gates(MODEL, worse.version)
    _only_failure(report, "champion")
    assert report.conditions[0].actual["increase"] == pytest.approx(0.03)


def test_metric_with_source_evaluation_ignores_the_run_metrics(ws: Workspace) -> None:
    version = _register(ws, run_auc=0.95)
    ws.registry.set_policy(
        MODEL, "risk: high\nmetrics:\n  roc_auc: {min: 0.9, source: evaluation}\n"
    )
    report = ws.registry.check_gates(MODEL, version)
    _only_failure(report, "metric")
    assert report.conditions[0].evidence == "no 'roc_auc' in evaluation evidence"


def test_two_required_approvals_need_two_distinct_approvers(ws: Workspace) -> None:
    version = _register(ws)
    ws.registry.set_policy(MODEL, "risk: high\napprovals: {count: 2, role: risk-approver}\n")
    _bob(ws).registry.approve(MODEL, version, comment="ok")
    assert not ws.registry.check_gates(MODEL, version).passed
    dana = ws.as_principal(Principal("dana", roles=frozenset({"risk-approver"})))
    dana.registry.approve(MODEL, version, comment="ok too")
    report = ws.registry.check_gates(MODEL, version)
    assert report.passed and report.conditions[0].actual == 2
