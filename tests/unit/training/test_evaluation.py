from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from falaj.training.errors import EvaluationInputError
from falaj.training.evaluation import evaluate_classification, evaluate_regression


@pytest.fixture
def binary() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 400)
    # informative but imperfect scores, with ties (rounded) to exercise tie handling
    score = np.clip(0.35 * y + rng.normal(0.35, 0.2, 400), 0, 1).round(2)
    return y, score


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("accuracy", lambda y, s: skm.accuracy_score(y, s >= 0.5)),
        ("precision", lambda y, s: skm.precision_score(y, s >= 0.5)),
        ("recall", lambda y, s: skm.recall_score(y, s >= 0.5)),
        ("f1", lambda y, s: skm.f1_score(y, s >= 0.5)),
        ("roc_auc", skm.roc_auc_score),
        ("pr_auc", skm.average_precision_score),
        ("log_loss", skm.log_loss),
        ("brier", skm.brier_score_loss),
    ],
)
def test_classification_metric_equals_sklearn(binary, name, reference) -> None:
    y, score = binary
    result = evaluate_classification(y, score, n_bootstrap=0)
    assert result.metrics[name] == pytest.approx(reference(y, score), rel=1e-9, abs=1e-12)


def test_confusion_matrix_equals_sklearn(binary) -> None:
    y, score = binary
    result = evaluate_classification(y, score, threshold=0.4, n_bootstrap=0)
    expected = skm.confusion_matrix(y, score >= 0.4).tolist()
    assert result.confusion_matrix == expected


def test_calibration_curve_equals_sklearn(binary) -> None:
    y, score = binary
    result = evaluate_classification(y, score, n_bootstrap=0, calibration_bins=8)
    prob_true, prob_pred = calibration_curve(y, score, n_bins=8)
    curve = result.curves["calibration"]
    np.testing.assert_allclose(curve.x, prob_pred)
    np.testing.assert_allclose(curve.y, prob_true)
    assert sum(curve.counts or []) == len(y)


def test_roc_curve_points_equal_sklearn(binary) -> None:
    y, score = binary
    fpr, tpr, _ = skm.roc_curve(y, score)
    curve = evaluate_classification(y, score, n_bootstrap=0).curves["roc"]
    assert len(fpr) <= 200
    np.testing.assert_allclose(curve.x, fpr)
    np.testing.assert_allclose(curve.y, tpr)


def test_probability_matrix_uses_positive_column(binary) -> None:
    y, score = binary
    matrix = np.column_stack([1 - score, score])
    assert evaluate_classification(y, matrix, n_bootstrap=0).metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, score)
    )


def test_string_labels_use_declared_positive_label(binary) -> None:
    y, score = binary
    labels = np.where(y == 1, "good", "bad")
    result = evaluate_classification(labels, score, positive_label="good", n_bootstrap=0)
    assert result.metrics["f1"] == pytest.approx(skm.f1_score(y, score >= 0.5))
    assert result.labels == ["bad", "good"]


def test_bootstrap_interval_brackets_point_and_is_reproducible(binary) -> None:
    y, score = binary
    a = evaluate_classification(y, score, n_bootstrap=300, seed=3)
    b = evaluate_classification(y, score, n_bootstrap=300, seed=3)
    c = evaluate_classification(y, score, n_bootstrap=300, seed=4)
    lo, hi = a.intervals["roc_auc"]
    assert lo < a.metrics["roc_auc"] < hi
    assert hi - lo < 0.2
    assert a.intervals == b.intervals
    assert a.intervals != c.intervals


def test_bootstrap_interval_matches_sklearn_on_same_resamples(binary) -> None:
    from falaj.training.evaluation import bootstrap_indices

    y, score = binary
    result = evaluate_classification(y, score, n_bootstrap=50, seed=11)
    idx = bootstrap_indices(len(y), 50, 11)
    ref = [skm.roc_auc_score(y[i], score[i]) for i in idx]
    assert result.intervals["roc_auc"] == pytest.approx(tuple(np.quantile(ref, [0.025, 0.975])))


def test_metrics_per_slice_equal_sklearn_on_the_slice(binary) -> None:
    y, score = binary
    group = np.where(np.arange(len(y)) % 3 == 0, "a", "b")
    result = evaluate_classification(y, score, n_bootstrap=20, slices={"group": group})
    by_value = {s.value: s for s in result.slices}
    assert set(by_value) == {"a", "b"}
    mask = group == "a"
    assert by_value["a"].n == int(mask.sum())
    assert by_value["a"].metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y[mask], score[mask])
    )


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("mae", skm.mean_absolute_error),
        ("rmse", skm.root_mean_squared_error),
        ("r2", skm.r2_score),
        ("mape", skm.mean_absolute_percentage_error),
    ],
)
def test_regression_metric_equals_sklearn(name, reference) -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(10, 3, 300)
    y[0] = 0.0  # MAPE's epsilon guard
    pred = y + rng.normal(0, 1, 300)
    result = evaluate_regression(y, pred, n_bootstrap=0)
    assert result.metrics[name] == pytest.approx(reference(y, pred), rel=1e-9)


def test_regression_intervals_and_slices() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(0, 1, 200)
    pred = y + rng.normal(0, 0.5, 200)
    frame = pd.DataFrame({"half": np.repeat(["first", "second"], 100)})
    result = evaluate_regression(y, pred, n_bootstrap=200, slices=frame)
    lo, hi = result.intervals["mae"]
    assert lo < result.metrics["mae"] < hi
    first = next(s for s in result.slices if s.value == "first")
    assert first.metrics["mae"] == pytest.approx(skm.mean_absolute_error(y[:100], pred[:100]))


def test_evidence_summary_has_contract_shape(binary) -> None:
    y, score = binary
    summary = evaluate_classification(y, score, n_bootstrap=50).evidence_summary()
    assert set(summary["metrics"]) >= {"roc_auc", "accuracy", "brier"}
    lo, hi = summary["intervals"]["roc_auc"]
    assert lo <= summary["metrics"]["roc_auc"] <= hi


def test_multiclass_target_is_rejected_with_the_classes_named() -> None:
    with pytest.raises(EvaluationInputError, match="3 classes"):
        evaluate_classification([0, 1, 2], [0.1, 0.5, 0.9], n_bootstrap=0)


def test_scores_outside_unit_interval_are_rejected() -> None:
    with pytest.raises(EvaluationInputError, match="probabilities"):
        evaluate_classification([0, 1], [0.2, 1.7], n_bootstrap=0)


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(EvaluationInputError, match=r"expected \(3,\)"):
        evaluate_classification([0, 1, 1], [0.2, 0.7], n_bootstrap=0)


def test_invalid_confidence_is_rejected() -> None:
    with pytest.raises(EvaluationInputError, match="confidence"):
        evaluate_regression([1.0, 2.0], [1.0, 2.0], confidence=1.5)


def test_continuous_slice_column_is_refused_with_its_count(binary) -> None:
    y, score = binary[0], binary[1]
    slices = pd.DataFrame({"income": np.arange(len(y), dtype=float)})
    with pytest.raises(EvaluationInputError, match=r"'income' has \d+ distinct values"):
        evaluate_classification(y, score, slices=slices, n_bootstrap=0)
