"""Issue 10: evidence that cannot mislead the gates.

Approvals bind to the policy revision, the version's digest and the evidence seen (items 5);
an in-sample evaluation never satisfies a metric and a policy can name the evaluation dataset it
accepts (item 2, the gate side); the validation gate names the suites it requires and a minimum
number of checks (item 3).
"""

from __future__ import annotations

import pandas as pd
import pytest

from falaj.errors import AlreadyExistsError
from falaj.governance.principal import Principal
from falaj.registry.errors import SelfApprovalError
from falaj.workspace import Workspace
from tests.registry_support import log_model

MODEL = "credit-risk"
APPROVALS = "risk: high\napprovals: {count: 1, role: risk-approver}\n"


def _bob(ws: Workspace) -> Workspace:
    return ws.as_principal(Principal("bob", roles=frozenset({"risk-approver"})))


def _version(ws: Workspace, dataset_ids: list[str] | None = None) -> int:
    return ws.registry.create_version(MODEL, log_model(ws, dataset_ids=dataset_ids)).version


def _approvals(ws: Workspace, version: int) -> tuple[bool, int, str]:
    (cond,) = [c for c in ws.registry.check_gates(MODEL, version).conditions]
    return cond.passed, cond.actual, cond.evidence


# -- item 5: approvals bind to what they were given under -------------------------------------
def test_an_approval_under_an_older_policy_revision_no_longer_counts(ws: Workspace) -> None:
    version = _version(ws)
    ws.registry.set_policy(MODEL, APPROVALS)
    _bob(ws).registry.approve(MODEL, version, comment="reviewed under the strict policy")
    assert _approvals(ws, version)[:2] == (True, 1)
    ws.registry.set_policy(MODEL, APPROVALS.replace("risk: high", "risk: low"))  # revision 2
    passed, count, evidence = _approvals(ws, version)
    assert (passed, count) == (False, 0)
    assert "bob: given under policy revision 1" in evidence
    assert "revision 2: a new revision needs new approvals" in evidence
    again = _bob(ws).registry.approve(MODEL, version, comment="re-reviewed under revision 2")
    assert (again.policy_revision, again.model_digest) == (
        2,
        ws.registry.get_version(MODEL, version).artifact_digest,
    )
    assert _approvals(ws, version)[:2] == (True, 1)


def test_evidence_attached_after_an_approval_invalidates_it(ws: Workspace) -> None:
    version = _version(ws)
    ws.registry.set_policy(MODEL, APPROVALS)
    _bob(ws).registry.approve(MODEL, version, comment="reviewed: no evidence yet")
    evidence = ws.registry.attach_evidence(
        MODEL, version, "evaluation", summary={"metrics": {"roc_auc": 0.91}}
    )
    passed, count, text = _approvals(ws, version)
    assert (passed, count) == (False, 0)
    assert f"evidence attached after the approval (evaluation {evidence.id[:8]})" in text
    with pytest.raises(Exception, match="gate condition"):
        ws.registry.promote(MODEL, version, reason="approved before the evaluation")
    _bob(ws).registry.approve(MODEL, version, comment="reviewed the evaluation too")
    assert _approvals(ws, version)[:2] == (True, 1)


def test_a_model_card_written_after_the_approval_keeps_it(ws: Workspace) -> None:
    version = _version(ws)
    ws.registry.set_policy(MODEL, APPROVALS)
    _bob(ws).registry.approve(MODEL, version, comment="reviewed")
    ws.registry.attach_evidence(MODEL, version, "model_card", summary={"sections": ["details"]})
    assert _approvals(ws, version)[:2] == (True, 1)


def test_approving_twice_on_the_same_basis_is_still_refused(ws: Workspace) -> None:
    version = _version(ws)
    ws.registry.set_policy(MODEL, APPROVALS)
    _bob(ws).registry.approve(MODEL, version, comment="ok")
    bob_again = ws.as_principal(Principal("BOB", roles=frozenset({"risk-approver"})))
    with pytest.raises(AlreadyExistsError, match="already approved"):
        bob_again.registry.approve(MODEL, version, comment="ok again, shouting")
    assert len(ws.registry.approvals(MODEL, version)) == 1


def test_the_creator_check_ignores_case(ws: Workspace) -> None:
    version = _version(ws)  # created by "alice"
    shouting = ws.as_principal(Principal("Alice", roles=frozenset({"risk-approver"})))
    with pytest.raises(SelfApprovalError, match="separation of duties"):
        shouting.registry.approve(MODEL, version, comment="it is a different name, surely")
    assert ws.registry.approvals(MODEL, version) == []


def test_the_gate_ignores_an_approval_whose_name_differs_from_the_creator_only_by_case(
    ws: Workspace,
) -> None:
    import sqlalchemy as sa

    from falaj.registry.tables import model_approvals
    from falaj.store.schema import new_id, utcnow

    version = _version(ws)
    ws.registry.set_policy(MODEL, APPROVALS)
    digest = ws.registry.get_version(MODEL, version).artifact_digest
    with ws.store.transaction() as conn:  # a row written before the check compared case
        conn.execute(
            sa.insert(model_approvals).values(
                id=new_id(), name=MODEL, version=version, approver="ALICE",
                roles=["risk-approver"], comment="legacy", created_at=utcnow(),
                policy_revision=1, model_digest=digest, evidence_seen=0,
            )
        )  # fmt: skip
    assert _approvals(ws, version)[:2] == (False, 0)


# -- item 2 (gate side): in-sample evaluations and the accepted evaluation dataset -------------
def _evaluation(ws: Workspace, version: int, auc: float, dataset: str, in_sample: bool) -> None:
    ws.registry.attach_evidence(
        MODEL,
        version,
        "evaluation",
        summary={
            "metrics": {"roc_auc": auc},
            "dataset": {"id": dataset, "content_digest": "ab" * 32, "rows": 250},
            "in_sample": in_sample,
            "in_sample_reason": "german@1 is the model's training input" if in_sample else None,
        },
    )


def test_an_in_sample_evaluation_never_satisfies_a_metric(ws: Workspace) -> None:
    version = _version(ws)
    ws.registry.set_policy(MODEL, "risk: high\nmetrics:\n  roc_auc: {min: 0.85}\n")
    _evaluation(ws, version, 0.99, "german@1", in_sample=True)
    (cond,) = ws.registry.check_gates(MODEL, version).conditions
    assert not cond.passed and cond.actual is None
    assert "is in-sample (german@1 is the model's training input)" in cond.evidence
    _evaluation(ws, version, 0.88, "german_holdout@1", in_sample=False)
    (cond,) = ws.registry.check_gates(MODEL, version).conditions
    assert cond.passed and cond.actual == pytest.approx(0.88)
    assert "on german_holdout@1 (content sha256:abababababab, 250 rows)" in cond.evidence


def test_the_policy_names_the_evaluation_dataset_it_accepts(ws: Workspace) -> None:
    version = _version(ws)
    ws.registry.set_policy(
        MODEL,
        "risk: high\nmetrics:\n  roc_auc: {min: 0.7}\nevaluation: {dataset: german_holdout}\n",
    )
    _evaluation(ws, version, 0.90, "other_sample@3", in_sample=False)
    (cond,) = ws.registry.check_gates(MODEL, version).conditions
    assert not cond.passed
    assert "not on german_holdout as the policy requires" in cond.evidence
    _evaluation(ws, version, 0.80, "german_holdout@2", in_sample=False)
    (cond,) = ws.registry.check_gates(MODEL, version).conditions
    assert cond.passed and cond.actual == pytest.approx(0.80)


# -- item 3 (gate side): required suites and check counts --------------------------------------
SUITE = {"suite": "applicants-basic", "columns": {"income": {"type": "float", "min": 0}}}


def test_the_validation_gate_requires_the_named_suite_and_shows_its_digest(
    ws: Workspace,
) -> None:
    data = ws.datasets.register("applicants", pd.DataFrame({"income": [1.0, 2.0, 3.0]}))
    other = {"suite": "something-else", "columns": {"income": {"type": "float"}}}
    ws.datasets.validate(data.id, other)
    version = _version(ws, dataset_ids=[data.id])
    ws.registry.set_policy(
        MODEL, "risk: high\nvalidation: {require: passed, suites: [applicants-basic]}\n"
    )
    (cond,) = ws.registry.check_gates(MODEL, version).conditions
    assert not cond.passed and cond.actual == "never validated"
    assert "suites run: something-else" in cond.evidence
    result = ws.datasets.validate(data.id, SUITE)
    (cond,) = ws.registry.check_gates(MODEL, version).conditions
    assert cond.passed
    assert f"sha256:{result.report.suite_digest[:12]}" in cond.evidence
    assert "suite 'applicants-basic'" in cond.evidence and "check(s)" in cond.evidence


def test_the_validation_gate_refuses_a_suite_with_too_few_checks(ws: Workspace) -> None:
    data = ws.datasets.register("applicants", pd.DataFrame({"income": [1.0, 2.0, 3.0]}))
    ws.datasets.validate(data.id, SUITE)
    checks = ws.datasets.validations(data.id)[0].checks_total
    version = _version(ws, dataset_ids=[data.id])
    ws.registry.set_policy(
        MODEL,
        "risk: high\nvalidation:\n  require: passed\n  suites: [applicants-basic]\n"
        f"  min_checks: {checks + 1}\n",
    )
    (cond,) = ws.registry.check_gates(MODEL, version).conditions
    assert not cond.passed
    assert f"{checks} check(s)" in cond.evidence and "fewer than the" in cond.evidence


def test_a_pinned_suite_digest_must_match(ws: Workspace) -> None:
    data = ws.datasets.register("applicants", pd.DataFrame({"income": [1.0, 2.0, 3.0]}))
    ws.datasets.validate(data.id, SUITE)
    version = _version(ws, dataset_ids=[data.id])
    ws.registry.set_policy(
        MODEL,
        "risk: high\nvalidation:\n  require: passed\n  suites:\n"
        "    - {name: applicants-basic, digest: 00000000aaaa}\n",
    )
    (cond,) = ws.registry.check_gates(MODEL, version).conditions
    assert not cond.passed and "no validation of" in cond.evidence


def test_setting_the_same_policy_text_again_keeps_the_revision_and_the_approvals(
    ws: Workspace,
) -> None:
    version = _version(ws)
    ws.registry.set_policy(MODEL, APPROVALS)
    _bob(ws).registry.approve(MODEL, version, comment="reviewed")
    again = ws.registry.set_policy(MODEL, APPROVALS)  # a CI job applying it on every push
    assert again.revision == 1
    assert _approvals(ws, version)[:2] == (True, 1)
    event = ws.audit.list(action="model.policy.set")[0]
    assert event.details["unchanged"] is True
