"""ws.training end to end on each metadata backend: evidence, reports, model card, audit."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from falaj.training.estimators import build_pipeline
from falaj.training.fairness import FairnessPolicy, Threshold
from falaj.training.reports.html import external_references

JUST = "Committee decision 2026-03: approval-rate gap above 0.25 is material."


def _data(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "income": rng.normal(50, 15, n),
            "debt": rng.normal(20, 8, n),
            "sex": rng.choice(["female", "male"], n, p=[0.4, 0.6]),
        }
    )
    logit = 0.08 * (X["income"] - 50) - 0.1 * (X["debt"] - 20) + rng.normal(0, 0.8, n)
    return X, pd.Series((logit > 0).astype(int), name="risk")


@pytest.fixture
def registered(any_ws):
    X, y = _data(300, 0)
    pipe = build_pipeline("sklearn.gradient_boosting", "classification", {"n_estimators": 30}, X)
    pipe.fit(X, y)
    with any_ws.start_run("credit", run_name="fit") as run:
        run.log_params({"family": "sklearn.gradient_boosting"})
        logged = run.log_model(pipe, "model", input_example=X.head(5))
    mv = any_ws.registry.create_version("credit-risk", logged, description="test model")
    return any_ws, mv, pipe


def test_full_evidence_flow_and_model_card(registered) -> None:
    ws, mv, pipe = registered
    X_test, y_test = _data(200, 1)
    evaluation = ws.training.evaluate(
        "credit-risk", mv.version, X_test, y_test, n_bootstrap=200, slices=["sex"]
    )
    expected_auc = skm.roc_auc_score(y_test, pipe.predict_proba(X_test)[:, 1])
    assert evaluation.result.metrics["roc_auc"] == pytest.approx(expected_auc)
    policy = FairnessPolicy(
        (Threshold("demographic_parity_difference", JUST, max=0.25),), min_group_size=30
    )
    young = pd.DataFrame({"income_band": np.where(X_test["income"] < 40, "low", "high")})
    fairness = ws.training.audit_fairness(
        "credit-risk",
        mv.version,
        X_test,
        y_test,
        sensitive_features=pd.concat([X_test[["sex"]], young], axis=1),
        policy=policy,
        n_bootstrap=100,
    )
    explanation = ws.training.explain("credit-risk", mv.version, X_test, max_rows=100)
    card = ws.training.model_card(
        "credit-risk",
        mv.version,
        intended_use="Pre-screening of consumer credit applications",
        out_of_scope=["employment decisions"],
        limitations=["Trained on synthetic data."],
    )

    kinds = {e.kind: e for e in ws.registry.evidence("credit-risk", mv.version)}
    assert set(kinds) == {"evaluation", "fairness", "explanation", "model_card"}
    assert kinds["evaluation"].summary["metrics"]["roc_auc"] == pytest.approx(expected_auc)
    assert kinds["evaluation"].summary["model_digest"] == mv.artifact_digest
    assert kinds["fairness"].summary["passed"] is fairness.result.passed
    assert kinds["explanation"].summary["top_features"][0] in {"income", "debt"}
    assert kinds["model_card"].summary["sections"] == [
        "model_details",
        "intended_use",
        "training_data",
        "evaluation",
        "fairness",
        "explainability",
        "limitations",
        "approvals",
    ]
    for outcome in (evaluation, fairness, explanation, card):
        stored = ws.artifacts.get_bytes(outcome.html_digest).decode("utf-8")
        assert stored == outcome.html
        assert external_references(stored) == []
        assert json.loads(ws.artifacts.get_bytes(outcome.json_digest)) == json.loads(
            json.dumps(outcome.data, default=str)
        )
        assert kinds[outcome.kind].artifact_digest == outcome.html_digest

    md = card.data["markdown"]
    assert "Pre-screening of consumer credit applications" in md
    assert "out of scope: employment decisions" in md
    stored_auc = kinds["evaluation"].summary["metrics"]["roc_auc"]
    assert f"roc_auc**: {stored_auc:.4g}" in md
    assert JUST in md
    assert f"run {mv.run_id}" in md  # lineage: the run that produced the version
    assert "Trained on synthetic data." in md
    assert "evidence:" not in md.split("## Training data")[1].split("## Evaluation")[0]
    actions = [e.action for e in ws.audit.list(action="training.*", limit=50)]
    for kind in ("evaluation", "fairness", "explanation", "model_card"):
        assert f"training.{kind}" in actions


def test_model_card_lists_approvals_from_the_registry(registered) -> None:
    from falaj.governance.principal import Principal

    ws, mv, _ = registered
    bob = ws.as_principal(Principal("bob"))
    bob.registry.approve("credit-risk", mv.version, comment="reviewed the evaluation")
    card = ws.training.model_card("credit-risk", mv.version)
    section = card.result.section("approvals")
    assert section.facts == [("approvals", "1")]
    assert section.items[0].startswith("bob")
    assert "reviewed the evaluation" in section.items[0]
    assert card.result.section("fairness").facts == [("fairness audit", "not recorded")]


def test_explainer_for_serving_explains_one_row(registered) -> None:
    ws, mv, pipe = registered
    X, _ = _data(50, 3)
    explainer = ws.training.explainer("credit-risk", mv.version, X)
    contributions = explainer.explain_one(X.iloc[0].to_dict())
    assert set(contributions) == {"income", "debt", "sex"}
    margin = pipe.decision_function(X.iloc[[0]])[0]
    assert explainer.base_value + sum(contributions.values()) == pytest.approx(margin, abs=1e-6)


def test_bad_input_is_refused_and_changes_nothing(registered) -> None:
    from falaj.training.errors import EvaluationInputError, FairnessPolicyError

    ws, mv, _ = registered
    X_test, y_test = _data(50, 4)
    artifacts_before = len(ws.artifacts.list(limit=1000))
    with pytest.raises(EvaluationInputError, match=r"\['region'\]"):
        ws.training.evaluate("credit-risk", mv.version, X_test, y_test, slices=["region"])
    with pytest.raises(FairnessPolicyError, match="min_group_size"):
        ws.training.audit_fairness(
            "credit-risk", mv.version, X_test, y_test, sensitive_features=["sex"]
        )
    assert ws.registry.evidence("credit-risk", mv.version) == []
    assert len(ws.artifacts.list(limit=1000)) == artifacts_before


def test_a_principal_without_the_right_is_refused_before_any_write(any_ws, tmp_path) -> None:
    from falaj.errors import PermissionDeniedError
    from falaj.governance.authorization import Binding, RoleBindingAuthorizer
    from falaj.governance.principal import Principal
    from falaj.workspace import Workspace

    X, y = _data(120, 5)
    pipe = build_pipeline("sklearn.logistic_regression", "classification", {}, X).fit(X, y)
    with any_ws.start_run("credit") as run:
        logged = run.log_model(pipe, "model", input_example=X.head(3))
    mv = any_ws.registry.create_version("credit-risk", logged)
    policy = RoleBindingAuthorizer([Binding("carol", "viewer")])
    viewer = Workspace(
        any_ws.settings,
        any_ws.store,
        any_ws.artifacts.objects,
        Principal("carol"),
        policy,
        owns_store=False,
    )
    with pytest.raises(PermissionDeniedError, match=r"training\.evaluation"):
        viewer.training.evaluate("credit-risk", mv.version, X, y, n_bootstrap=10)
    assert any_ws.registry.evidence("credit-risk", mv.version) == []
    denied = any_ws.audit.list(action="training.evaluation", outcome="denied")
    assert [e.principal for e in denied] == ["carol"]


def test_regression_version_is_evaluated_against_sklearn(any_ws) -> None:
    rng = np.random.default_rng(6)
    X = pd.DataFrame({"size": rng.normal(100, 20, 200), "rooms": rng.integers(1, 6, 200)})
    y = 3 * X["size"] + 10 * X["rooms"] + rng.normal(0, 5, 200)
    pipe = build_pipeline("sklearn.ridge", "regression", {"alpha": 1.0}, X).fit(X, y)
    with any_ws.start_run("prices") as run:
        logged = run.log_model(pipe, "model", input_example=X.head(3))
    mv = any_ws.registry.create_version("prices", logged)
    out = any_ws.training.evaluate("prices", mv.version, X, y, task="regression", n_bootstrap=50)
    pred = pipe.predict(X)
    assert out.result.metrics["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred))
    assert out.result.metrics["r2"] == pytest.approx(skm.r2_score(y, pred))
    assert out.evidence.summary["metrics"]["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
