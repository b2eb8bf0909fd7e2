"""Issue 10 item 10: an explanation names the unit its contributions really add up to."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from falaj.training.explain import build_explainer


def _data() -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=300),
            "b": rng.normal(size=300),
            "colour": rng.choice(["red", "green"], 300),
        }
    )
    y = ((X["a"] - X["b"] + (X["colour"] == "red")) + rng.normal(0, 0.5, 300) > 0).astype(int)
    return X, y.to_numpy()


def _pipeline(estimator: Any) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    pre = ColumnTransformer(
        [
            ("num", "passthrough", ["a", "b"]),
            ("cat", OneHotEncoder(sparse_output=False), ["colour"]),
        ]
    )
    return Pipeline([("preprocess", pre), ("model", estimator)])


def _totals(explainer: Any, X: pd.DataFrame) -> np.ndarray[Any, Any]:
    contributions = explainer.contributions(X).to_numpy(dtype=np.float64)
    return explainer.base_value + contributions.sum(axis=1)


def test_tree_shap_on_a_random_forest_is_labelled_probability() -> None:
    from sklearn.ensemble import RandomForestClassifier

    X, y = _data()
    model = _pipeline(RandomForestClassifier(n_estimators=20, random_state=0)).fit(X, y)
    explainer = build_explainer(model, X)
    assert explainer.method == "tree"
    assert explainer.output == "probability"
    rows = X.head(40)
    np.testing.assert_allclose(_totals(explainer, rows), model.predict_proba(rows)[:, 1], atol=1e-6)


@pytest.mark.parametrize("family", ["gradient_boosting", "logistic_regression"])
def test_boosting_and_linear_explanations_are_labelled_log_odds(family: str) -> None:
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    X, y = _data()
    estimator = (
        GradientBoostingClassifier(n_estimators=30, random_state=0)
        if family == "gradient_boosting"
        else LogisticRegression()
    )
    model = _pipeline(estimator).fit(X, y)
    explainer = build_explainer(model, X)
    assert explainer.output == "log-odds"
    rows = X.head(40)
    p = model.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(_totals(explainer, rows), np.log(p / (1 - p)), atol=1e-6)
