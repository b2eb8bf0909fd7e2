"""Issue 10, training side: classifications decide the features (item 1) and an evaluation
names its data and is marked in-sample on the model's own training rows (item 2)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from falaj.lineage.graph import Node
from falaj.training.errors import SearchSpaceError
from falaj.workspace import Workspace

MODEL = "credit-risk"


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "applicant_id": np.arange(seed * 10_000, seed * 10_000 + n),
            "email": [f"user{seed}-{i}@example.com" for i in range(n)],
            "sex": rng.choice(["female", "male"], n),
            "income": rng.normal(50, 10, n).round(2),
            "debt": rng.normal(20, 5, n).round(2),
        }
    )
    logits = 0.15 * (frame["income"] - 50) - 0.2 * (frame["debt"] - 20)
    frame["risk"] = np.where(logits + rng.normal(0, 1, n) > 0, "good", "bad")
    return frame


CLASSES = {"applicant_id": ["identifier"], "email": ["pii"], "sex": ["sensitive"]}


def _spec(**extra: Any) -> dict[str, Any]:
    return {
        "family": "sklearn.logistic_regression",
        "space": {"C": {"type": "log", "low": 0.1, "high": 10.0}},
        "budget": {"max_trials": 2},
        "cv_folds": 2,
        "positive_label": "good",
        **extra,
    }


def _search(ws: Workspace, dataset_id: str, **extra: Any) -> Any:
    frame = ws.datasets.load(dataset_id)
    return ws.training.search(
        _spec(**extra),
        frame.drop(columns=["risk"]),
        frame["risk"],
        experiment="hpo",
        dataset_version_id=dataset_id,
    )


@pytest.fixture
def trained(ws: Workspace) -> tuple[str, str, int]:
    train = ws.datasets.register("applicants", _frame(240, 1), classifications=CLASSES)
    holdout = ws.datasets.register("applicants_holdout", _frame(120, 2), classifications=CLASSES)
    result = _search(ws, train.id)
    version = ws.registry.create_version(MODEL, result.model).version
    return train.id, holdout.id, version


# -- item 1 ------------------------------------------------------------------------------------
def test_identifier_pii_and_sensitive_columns_are_not_features(
    ws: Workspace, trained: tuple[str, str, int]
) -> None:
    _, _, version = trained
    model = ws.registry.load_model(MODEL, version)
    assert model.input_columns == ["income", "debt"]
    run = ws.tracking.get_run(ws.registry.get_version(MODEL, version).run_id)
    assert run.params["features.dropped"] == (
        "applicant_id (classified identifier), email (classified pii), "
        "sex (classified sensitive (not in use_sensitive))"
    )
    assert run.params["features.use_sensitive"] == "none"


def test_a_sensitive_column_is_a_feature_only_when_the_spec_says_so(ws: Workspace) -> None:
    train = ws.datasets.register("applicants", _frame(240, 1), classifications=CLASSES)
    result = _search(ws, train.id, use_sensitive=["sex"], exclude=["debt"])
    version = ws.registry.create_version(MODEL, result.model).version
    assert ws.registry.load_model(MODEL, version).input_columns == ["sex", "income"]
    run = ws.tracking.get_run(result.parent_run_id)
    assert run.params["features.use_sensitive"] == "sex"
    assert "debt (excluded by the spec)" in run.params["features.dropped"]
    frame = _frame(60, 9)
    out = ws.training.evaluate(
        MODEL, version, frame.drop(columns=["risk"]), frame["risk"], n_bootstrap=0
    )
    assert (out.evidence.summary["inputs"], out.evidence.summary["use_sensitive"]) == (
        ["sex", "income"],
        "sex",
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"use_sensitive": ["applicant_id"]}, "identifier and pii columns are never features"),
        ({"use_sensitive": ["income"]}, "not classified sensitive"),
        ({"exclude": ["nope"]}, r"exclude names column\(s\) \['nope'\]"),
    ],
)
def test_a_spec_cannot_smuggle_columns_in(
    ws: Workspace, extra: dict[str, Any], message: str
) -> None:
    train = ws.datasets.register("applicants", _frame(240, 1), classifications=CLASSES)
    with pytest.raises(SearchSpaceError, match=message):
        _search(ws, train.id, **extra)


# -- item 2 ------------------------------------------------------------------------------------
def test_evaluating_on_the_training_dataset_is_in_sample_and_fails_the_gate(
    ws: Workspace, trained: tuple[str, str, int]
) -> None:
    train_id, holdout_id, version = trained
    ws.registry.set_policy(MODEL, "risk: high\nmetrics:\n  roc_auc: {min: 0.5}\n")
    frame = ws.datasets.load(train_id)
    out = ws.training.evaluate(
        MODEL, version, frame.drop(columns=["risk"]), frame["risk"], n_bootstrap=0,
        dataset_version_id=train_id,
    )  # fmt: skip
    summary = out.evidence.summary
    assert summary["in_sample"] is True
    assert summary["in_sample_reason"] == f"{train_id} is the model's training input"
    assert summary["dataset"]["id"] == train_id
    assert summary["dataset"]["content_digest"] == ws.datasets.get(train_id).content_digest
    (cond,) = ws.registry.check_gates(MODEL, version).conditions
    assert not cond.passed and "is in-sample" in cond.evidence
    held = ws.datasets.load(holdout_id)
    out = ws.training.evaluate(
        MODEL, version, held.drop(columns=["risk"]), held["risk"], n_bootstrap=0,
        dataset_version_id=holdout_id,
    )  # fmt: skip
    assert out.evidence.summary["in_sample"] is False
    assert out.evidence.summary["dataset"]["rows"] == 120
    (cond,) = ws.registry.check_gates(MODEL, version).conditions
    assert cond.passed and f"on {holdout_id}" in cond.evidence
    upstream = ws.lineage.upstream(Node("model_version", f"{MODEL}/{version}"), max_depth=1)
    assert (Node("dataset_version", holdout_id), "evaluated_on") in {
        (e.source, e.relation) for e in upstream
    }


def test_the_training_rows_as_an_unregistered_frame_are_recognised_as_in_sample(
    ws: Workspace, trained: tuple[str, str, int]
) -> None:
    train_id, _, version = trained
    frame = ws.datasets.load(train_id).sample(frac=0.7, random_state=3)
    frame = frame.drop(columns=["applicant_id", "email"])  # even without the id columns
    out = ws.training.evaluate(
        MODEL, version, frame.drop(columns=["risk"]), frame["risk"], n_bootstrap=0
    )
    summary = out.evidence.summary
    assert summary["in_sample"] is True
    assert summary["dataset"]["id"] is None
    assert summary["dataset"]["overlap_rows"] == len(frame)
    assert (
        f"{len(frame)} of its {len(frame)} rows (100%) are training rows"
        in (summary["in_sample_reason"])
    )


def test_a_search_on_a_plain_frame_records_its_rows_for_the_in_sample_check(
    ws: Workspace,
) -> None:
    frame = _frame(200, 4)
    X, y = frame.drop(columns=["risk", "email", "applicant_id"]), frame["risk"]
    result = ws.training.search(_spec(), X, y, experiment="hpo")
    version = ws.registry.create_version(MODEL, result.model).version
    out = ws.training.evaluate(MODEL, version, X.head(50), y.head(50), n_bootstrap=0)
    assert out.evidence.summary["in_sample"] is True
    fresh = _frame(80, 5)
    out = ws.training.evaluate(
        MODEL, version, fresh.drop(columns=["risk"]), fresh["risk"], n_bootstrap=0
    )
    assert out.evidence.summary["in_sample"] is False
    assert out.evidence.summary["dataset"]["overlap_rows"] == 0


# -- item 8: the model card --------------------------------------------------------------------
STRICT = {
    "min_group_size": 10,
    "thresholds": [
        {
            "metric": "demographic_parity_difference",
            "max": 0.0001,
            "justification": "A limit no real model meets, so that this audit fails.",
        }
    ],
}


def test_the_card_lists_inputs_limitations_and_the_evaluation_dataset(ws: Workspace) -> None:
    from falaj.training.model_card import _num

    train = ws.datasets.register("applicants", _frame(240, 1), classifications=CLASSES)
    holdout = ws.datasets.register("applicants_holdout", _frame(120, 2))
    ws.datasets.validate(
        train.id, {"suite": "strict", "columns": {"income": {"min": 60}}}, policy="warn"
    )
    result = _search(ws, train.id, use_sensitive=["sex"])
    version = ws.registry.create_version(MODEL, result.model).version
    held = ws.datasets.load(holdout.id)
    X, y = held.drop(columns=["risk"]), held["risk"]
    ws.training.evaluate(MODEL, version, X, y, n_bootstrap=0, dataset_version_id=holdout.id)
    fair = ws.training.audit_fairness(
        MODEL, version, X, y, sensitive_features=["sex"], policy=STRICT, n_bootstrap=0
    )
    assert fair.result.passed is False
    card = ws.training.model_card(MODEL, version).result
    details = dict(card.section("model_details").facts)
    assert details["inputs"] == "sex (sensitive), income, debt"
    assert details["sensitive inputs allowed by the spec"] == "sex"
    evaluation = dict(card.section("evaluation").facts)
    assert evaluation["evaluation dataset"].startswith(f"{holdout.id} (content sha256:")
    assert (evaluation["held out"], evaluation["rows"]) == ("held out", "120")
    limits = card.section("limitations").items
    assert any(i.startswith("The fairness audit FAILED its policy") for i in limits), limits
    assert f"Training data {train.id} warned its validation: some checks did not pass." in limits
    assert (_num(12345), _num(120.0), _num(0.81234)) == ("12345", "120", "0.8123")


def test_the_gate_refuses_a_card_older_than_the_evidence_or_approvals(
    ws: Workspace, trained: tuple[str, str, int]
) -> None:
    from falaj.governance.principal import Principal

    _, holdout_id, version = trained
    ws.registry.set_policy(
        MODEL, "risk: high\nreports: [model_card]\napprovals: {count: 1, role: risk-approver}\n"
    )
    ws.training.model_card(MODEL, version)
    held = ws.datasets.load(holdout_id)
    ws.training.evaluate(
        MODEL, version, held.drop(columns=["risk"]), held["risk"], n_bootstrap=0,
        dataset_version_id=holdout_id,
    )  # fmt: skip
    report, _ = ws.registry.check_gates(MODEL, version).conditions
    assert report.actual == "out of date" and "it predates evaluation" in report.evidence
    ws.training.model_card(MODEL, version)
    bob = ws.as_principal(Principal("bob", roles=frozenset({"risk-approver"})))
    bob.registry.approve(MODEL, version, comment="read the card and the evaluation")
    report, approvals = ws.registry.check_gates(MODEL, version).conditions
    assert not report.passed and "approval by bob" in report.evidence
    assert approvals.passed
    ws.training.model_card(MODEL, version)  # the card now lists bob's approval
    assert ws.registry.check_gates(MODEL, version).passed
