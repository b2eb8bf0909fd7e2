"""ws.training refuses wrong inputs with one FalajError naming the field, before any write."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from falaj.training.errors import EvaluationInputError
from falaj.training.estimators import build_pipeline


@pytest.fixture
def registered(ws):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"income": rng.normal(50, 15, 120), "sex": rng.choice(["f", "m"], 120)})
    y = pd.Series((X["income"] + rng.normal(0, 10, 120) > 50).astype(int))
    pipe = build_pipeline("sklearn.logistic_regression", "classification", {}, X).fit(X, y)
    with ws.start_run("credit", run_name="fit") as run:
        logged = run.log_model(pipe, "model", input_example=X.head(5))
    ws.registry.create_version("m", logged)
    return ws, X, y


def _evidence(ws) -> int:  # type: ignore[no-untyped-def]
    return len(ws.registry.evidence("m", 1))


def test_explain_input_missing_model_columns_is_named(registered) -> None:
    ws, X, _ = registered
    with pytest.raises(EvaluationInputError, match="X: input column 'sex' is missing"):
        ws.training.explain("m", 1, X[["income"]])
    with pytest.raises(EvaluationInputError, match="background: input column 'sex' is missing"):
        ws.training.explainer("m", 1, X[["income"]])
    assert _evidence(ws) == 0


def test_explain_drops_columns_the_model_does_not_take(registered) -> None:
    ws, X, y = registered
    out = ws.training.explain("m", 1, X.assign(label=y), max_rows=20)
    assert set(out.result.top_features(5)) == {"income", "sex"}


def test_fairness_threshold_and_bootstrap_are_checked(registered) -> None:
    ws, X, y = registered
    args = ("m", 1, X, y)
    with pytest.raises(EvaluationInputError, match="threshold 3 is invalid"):
        ws.training.audit_fairness(*args, sensitive_features=["sex"], min_group_size=5, threshold=3)
    with pytest.raises(EvaluationInputError, match="n_bootstrap -1 is invalid"):
        ws.training.audit_fairness(
            *args, sensitive_features=["sex"], min_group_size=5, n_bootstrap=-1
        )
    assert _evidence(ws) == 0


def test_fairness_single_feature_name_is_one_feature(registered) -> None:
    ws, X, y = registered
    out = ws.training.audit_fairness(
        "m", 1, X, y, sensitive_features="sex", min_group_size=5, n_bootstrap=0
    )
    assert [a.name for a in out.result.audits] == ["sex"]


def test_model_card_lists_must_be_lists(registered) -> None:
    ws, _, _ = registered
    with pytest.raises(EvaluationInputError, match="out_of_scope='no loans' is invalid"):
        ws.training.model_card("m", 1, out_of_scope="no loans")  # type: ignore[arg-type]
    assert _evidence(ws) == 0


def test_search_spec_of_wrong_type_and_missing_labels_are_refused(registered) -> None:
    ws, X, y = registered
    with pytest.raises(EvaluationInputError, match="spec has type int"):
        ws.training.search(5, X, y)
    spec = {
        "family": "sklearn.logistic_regression",
        "space": {"C": {"type": "float", "low": 0.1, "high": 1.0}},
        "budget": {"max_trials": 1},
    }
    with pytest.raises(EvaluationInputError, match="y has 3 missing label"):
        ws.training.search(spec, X, y.astype(float).mask(y.index < 3), experiment="nan")
    assert "nan" not in [e.name for e in ws.tracking.list_experiments()]
