from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from falaj.training.errors import FairnessPolicyError
from falaj.training.fairness import FairnessPolicy, Threshold, audit_fairness

JUST = "Four-fifths rule used by the credit committee since 2019."


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(5)
    n = 600
    sex = rng.choice(["female", "male"], n, p=[0.35, 0.65])
    young = rng.choice(["<25", ">=25"], n, p=[0.2, 0.8])
    y = rng.integers(0, 2, n)
    bias = np.where(sex == "male", 0.15, 0.0)
    pred = (rng.random(n) < 0.4 + bias + 0.2 * y).astype(int)
    return y, pred, pd.DataFrame({"sex": sex, "age_group": young})


def test_disparities_equal_fairlearn(data) -> None:
    y, pred, sf = data
    report = audit_fairness(y, pred, sf[["sex"]], min_group_size=30, n_bootstrap=0)
    d = report.audits[0].disparities
    assert d["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y, pred, sensitive_features=sf["sex"])
    )
    assert d["demographic_parity_ratio"] == pytest.approx(
        demographic_parity_ratio(y, pred, sensitive_features=sf["sex"])
    )
    assert d["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y, pred, sensitive_features=sf["sex"])
    )


def test_group_metrics_equal_fairlearn_metric_frame(data) -> None:
    y, pred, sf = data
    report = audit_fairness(y, pred, sf[["sex"]], min_group_size=30, n_bootstrap=0)
    ref = MetricFrame(
        metrics={"sr": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate},
        y_true=y,
        y_pred=pred,
        sensitive_features=sf["sex"],
    ).by_group
    for group in report.audits[0].groups:
        assert group.count == int((sf["sex"] == group.group).sum())
        assert group.metrics["selection_rate"] == pytest.approx(ref.loc[group.group, "sr"])
        assert group.metrics["tpr"] == pytest.approx(ref.loc[group.group, "tpr"])
        assert group.metrics["fpr"] == pytest.approx(ref.loc[group.group, "fpr"])
        mask = (sf["sex"] == group.group).to_numpy()
        assert group.metrics["accuracy"] == pytest.approx(np.mean(y[mask] == pred[mask]))


@pytest.mark.slow
def test_intersection_is_audited_with_fairlearn_values(data) -> None:
    y, pred, sf = data
    report = audit_fairness(y, pred, sf, min_group_size=30, intersections=True, n_bootstrap=50)
    assert [a.features for a in report.audits] == [("sex",), ("age_group",), ("sex", "age_group")]
    inter = report.audits[2]
    assert len(inter.groups) == 4
    for group in inter.groups:
        sex, age = group.group.split(" & ")
        mask = ((sf["sex"] == sex) & (sf["age_group"] == age)).to_numpy()
        assert group.count == int(mask.sum())
        assert group.metrics["selection_rate"] == pytest.approx(pred[mask].mean())
        lo, hi = group.intervals["selection_rate"]
        assert lo <= group.metrics["selection_rate"] <= hi
    assert inter.disparities["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y, pred, sensitive_features=sf)
    )


def test_group_intervals_bracket_the_group_rate(data) -> None:
    y, pred, sf = data
    report = audit_fairness(y, pred, sf[["sex"]], min_group_size=30, n_bootstrap=300, seed=1)
    for group in report.audits[0].groups:
        lo, hi = group.intervals["selection_rate"]
        assert lo <= group.metrics["selection_rate"] <= hi
        assert 0 < hi - lo < 0.3


def test_without_policy_there_is_no_verdict(data) -> None:
    y, pred, sf = data
    report = audit_fairness(y, pred, sf, min_group_size=30, n_bootstrap=0)
    assert report.passed is None
    assert report.evidence_summary()["passed"] is None
    assert report.audits[0].checks == []


def test_policy_verdict_and_justification_carried(data) -> None:
    y, pred, sf = data
    dpd = demographic_parity_difference(y, pred, sensitive_features=sf["sex"])
    loose = FairnessPolicy(
        (Threshold("demographic_parity_difference", JUST, max=dpd + 0.01),), min_group_size=30
    )
    strict = FairnessPolicy(
        (Threshold("demographic_parity_difference", JUST, max=dpd - 0.01),), min_group_size=30
    )
    passing = audit_fairness(y, pred, sf[["sex"]], policy=loose, n_bootstrap=0)
    failing = audit_fairness(y, pred, sf[["sex"]], policy=strict, n_bootstrap=0)
    assert passing.passed is True
    assert failing.passed is False
    check = failing.as_dict()["audits"][0]["checks"][0]
    assert check["justification"] == JUST
    assert check["value"] == pytest.approx(dpd)
    assert failing.evidence_summary()["thresholds"][0]["justification"] == JUST


def test_ratio_threshold_is_a_minimum(data) -> None:
    y, pred, sf = data
    ratio = demographic_parity_ratio(y, pred, sensitive_features=sf["sex"])
    policy = FairnessPolicy(
        (Threshold("demographic_parity_ratio", JUST, min=ratio + 0.01),), min_group_size=30
    )
    assert audit_fairness(y, pred, sf[["sex"]], policy=policy, n_bootstrap=0).passed is False


def test_small_groups_are_flagged_unreliable(data) -> None:
    y, pred, sf = data
    n_young = int((sf["age_group"] == "<25").sum())
    report = audit_fairness(y, pred, sf[["age_group"]], min_group_size=n_young + 1, n_bootstrap=0)
    assert report.unreliable_groups == ["age_group=<25"]
    assert report.evidence_summary()["unreliable_groups"] == ["age_group=<25"]


def test_missing_min_group_size_is_refused(data) -> None:
    y, pred, sf = data
    with pytest.raises(FairnessPolicyError, match="min_group_size"):
        audit_fairness(y, pred, sf)


def test_threshold_without_justification_is_refused() -> None:
    with pytest.raises(FairnessPolicyError, match="justification"):
        Threshold("demographic_parity_difference", "", max=0.1)


def test_threshold_in_wrong_direction_is_refused() -> None:
    with pytest.raises(FairnessPolicyError, match="must set 'min'"):
        Threshold("demographic_parity_ratio", JUST, max=0.8)


def test_policy_from_dict_names_unknown_metric() -> None:
    with pytest.raises(FairnessPolicyError, match="'parity'"):
        FairnessPolicy.from_dict(
            {
                "min_group_size": 30,
                "thresholds": [{"metric": "parity", "max": 0.1, "justification": JUST}],
            }
        )


def test_policy_from_dict_round_trips() -> None:
    policy = FairnessPolicy(
        (Threshold("equalized_odds_difference", JUST, max=0.2),), min_group_size=25, name="p"
    )
    assert FairnessPolicy.from_dict(policy.as_dict()) == policy


def test_policy_from_dict_refuses_unknown_keys() -> None:
    with pytest.raises(FairnessPolicyError, match=r"unknown key\(s\) \['min_group'\]"):
        FairnessPolicy.from_dict(
            {
                "min_group": 30,
                "thresholds": [{"metric": "demographic_parity_difference", "max": 0.1,
                                "justification": JUST}],
            }
        )  # fmt: skip


def test_intersection_leaves_out_value_combinations_no_row_has() -> None:
    y = np.array([1, 0, 1, 0, 1, 1])
    pred = np.array([1, 0, 0, 0, 1, 1])
    sf = pd.DataFrame({"a": ["x", "x", "y", "y", "y", "y"], "b": ["p", "p", "q", "q", "p", "p"]})
    report = audit_fairness(y, pred, sf, min_group_size=1, intersections=True, n_bootstrap=0)
    inter = report.audits[2]
    assert {g.group: g.count for g in inter.groups} == {"x & p": 2, "y & p": 2, "y & q": 2}
