from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from falaj.training.errors import ExplainError
from falaj.training.estimators import build_pipeline
from falaj.training.explain import build_explainer, explain


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 300
    X = pd.DataFrame(
        {
            "signal": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "color": rng.choice(["red", "green", "blue"], n),
        }
    )
    y = (2 * X["signal"] + (X["color"] == "red") * 1.5 + rng.normal(0, 0.3, n)) > 0.5
    return X, y.astype(int).to_numpy()


def fitted(family: str, data) -> object:
    X, y = data
    params = {"n_estimators": 30} if family != "sklearn.logistic_regression" else {}
    if family == "lightgbm":
        params["min_child_samples"] = 5
    pipe = build_pipeline(family, "classification", params, X)
    pipe.fit(X, y)
    return pipe


@pytest.mark.parametrize(
    ("family", "method"),
    [
        ("sklearn.gradient_boosting", "tree"),
        ("sklearn.random_forest", "tree"),
        ("lightgbm", "tree"),
        ("xgboost", "tree"),
        ("sklearn.logistic_regression", "linear"),
    ],
)
@pytest.mark.slow
def test_method_follows_model_kind_and_signal_ranks_first(family, method, data) -> None:
    X, _ = data
    explanation, explainer = explain(fitted(family, data), X, max_rows=120)
    assert explanation.method == method == explainer.method
    assert set(explanation.importance) == {"signal", "noise", "color"}  # one-hot folded back
    assert explanation.top_features(1) == ["signal"]
    assert explanation.importance["signal"] > explanation.importance["noise"]


@pytest.mark.parametrize("family", ["sklearn.gradient_boosting", "xgboost", "lightgbm"])
@pytest.mark.slow
def test_tree_contributions_add_up_to_the_raw_prediction(family, data) -> None:
    X, _ = data
    pipe = fitted(family, data)
    explainer = build_explainer(pipe, X)
    row = X.iloc[7].to_dict()
    contrib = explainer.explain_one(row)
    margin = pipe[:-1].transform(X.iloc[[7]])
    model = pipe[-1]
    if family == "xgboost":
        raw = model.predict(margin, output_margin=True)[0]
    elif family == "lightgbm":
        raw = model.predict(margin, raw_score=True)[0]
    else:
        raw = model.decision_function(margin)[0]
    assert explainer.base_value + sum(contrib.values()) == pytest.approx(raw, abs=1e-4)


def test_linear_contributions_equal_coefficient_times_centered_input(data) -> None:
    X, _ = data
    pipe = fitted("sklearn.logistic_regression", data)
    explainer = build_explainer(pipe, X, background_size=len(X))
    z = pipe[:-1].transform(X)
    coef = pipe[-1].coef_[0]
    names = list(pipe[:-1].get_feature_names_out())
    j = names.index("num__noise")
    expected = coef[j] * (z[3, j] - z[:, j].mean())
    assert explainer.explain_one(X.iloc[3])["noise"] == pytest.approx(expected, rel=1e-6)


def test_permutation_fallback_handles_categorical_inputs_within_budget(data) -> None:
    from sklearn.neighbors import KNeighborsClassifier

    X, y = data
    pipe = build_pipeline("sklearn.logistic_regression", "classification", {}, X)
    pipe.steps[-1] = ("model", KNeighborsClassifier(n_neighbors=15))
    pipe.fit(X, y)
    explanation, explainer = explain(pipe, X, max_rows=8, sample_budget=30, background=X[:25])
    assert explanation.method == "permutation"
    assert explanation.output == "probability"
    assert explanation.top_features(1) == ["signal"]
    row = X.iloc[0]
    contrib = explainer.explain_one(row)
    proba = pipe.predict_proba(X.iloc[[0]])[0, 1]
    assert explainer.base_value + sum(contrib.values()) == pytest.approx(proba, abs=1e-6)


def test_effect_summaries_give_direction_and_category_means(data) -> None:
    X, _ = data
    explanation, _ = explain(fitted("sklearn.gradient_boosting", data), X, max_rows=150)
    effects = {e.feature: e for e in explanation.effects}
    assert effects["signal"].direction == "higher values raise the output"
    cats = effects["color"].by_category or {}
    assert max(cats, key=cats.__getitem__) == "red"


def test_explain_one_names_missing_columns(data) -> None:
    X, _ = data
    explainer = build_explainer(fitted("sklearn.gradient_boosting", data), X)
    with pytest.raises(ExplainError, match="color"):
        explainer.explain_one({"signal": 1.0, "noise": 0.0})


def test_evidence_summary_lists_top_features(data) -> None:
    X, _ = data
    explanation, _ = explain(fitted("sklearn.random_forest", data), X, max_rows=60)
    summary = explanation.evidence_summary(k=2)
    assert summary["top_features"][0] == "signal"
    assert len(summary["top_features"]) == 2


def test_permutation_values_are_exact_for_an_additive_model() -> None:
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(80, 4)), columns=["a", "b", "c", "d"])
    model = LinearRegression().fit(X, X @ np.array([1.0, -2.0, 0.5, 0.0]) + 3)
    explainer = build_explainer(model, X, method="permutation", sample_budget=10)
    assert explainer.method == "permutation" and explainer.output == "prediction"
    contrib = explainer.explain_one(X.iloc[5])
    expected = model.coef_ * (X.iloc[5].to_numpy() - X.mean().to_numpy())
    assert [contrib[c] for c in "abcd"] == pytest.approx(list(expected), abs=1e-9)
