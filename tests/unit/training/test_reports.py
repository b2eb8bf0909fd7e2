from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from falaj.training.estimators import build_pipeline
from falaj.training.evaluation import evaluate_classification
from falaj.training.explain import explain
from falaj.training.fairness import FairnessPolicy, Threshold, audit_fairness
from falaj.training.reports.html import external_references
from falaj.training.reports.render import (
    evaluation_report,
    explanation_report,
    fairness_report,
)

JUST = "Parity gap above 0.2 was judged material by the risk committee."


@pytest.fixture(scope="module")
def scored() -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(2)
    n = 300
    y = rng.integers(0, 2, n)
    score = np.clip(0.3 * y + rng.normal(0.35, 0.2, n), 0, 1)
    sf = pd.DataFrame(
        {
            "sex": rng.choice(["female", "male"], n),
            "age": rng.choice(["<25", ">=25"], n, p=[0.05, 0.95]),
        }
    )
    return y, score, sf


def test_external_references_detects_scripts_links_and_remote_resources() -> None:
    bad = [
        "<script>alert(1)</script>",
        '<link rel=stylesheet href="x.css">',
        '<img src="http://x/y.png">',
        '<a href="//cdn.example/x">',
        '<div style="background:url(https://x/y)"></div>',
        "<style>@import 'x.css';</style>",
    ]
    assert all(external_references(snippet) for snippet in bad)
    assert external_references('<svg xmlns="http://www.w3.org/2000/svg"></svg>') == []


def test_evaluation_report_is_self_contained_with_charts(scored) -> None:
    y, score, sf = scored
    result = evaluate_classification(y, score, n_bootstrap=100, slices=sf[["sex"]])
    report = evaluation_report(result, subject={"model": "credit-risk", "version": 3})
    assert external_references(report.html) == []
    assert report.html.count("<svg") == 5  # intervals, ROC, PR, calibration, confusion matrix
    assert f"{result.metrics['roc_auc']:.4g}" in report.html
    data = json.loads(report.json)
    assert data["metrics"]["roc_auc"] == pytest.approx(result.metrics["roc_auc"])
    assert data["subject"] == {"model": "credit-risk", "version": 3}


def test_fairness_report_carries_thresholds_justification_and_flags(scored) -> None:
    y, score, sf = scored
    policy = FairnessPolicy(
        (Threshold("demographic_parity_difference", JUST, max=0.2),), min_group_size=30
    )
    audit = audit_fairness(y, (score >= 0.5).astype(int), sf, policy=policy, n_bootstrap=50)
    report = fairness_report(audit)
    assert external_references(report.html) == []
    assert JUST in report.html
    assert "PASSED" in report.html or "FAILED" in report.html
    assert "age=&lt;25" in report.html  # the small group is listed as unreliable
    assert report.data["policy"]["thresholds"][0]["justification"] == JUST
    assert report.html.count("<svg") == 8  # four rate charts per sensitive feature


def test_fairness_report_without_policy_says_no_verdict(scored) -> None:
    y, score, sf = scored
    audit = audit_fairness(y, (score >= 0.5).astype(int), sf, min_group_size=30, n_bootstrap=0)
    assert "No verdict" in fairness_report(audit).html


def test_explanation_report_lists_importance_bars() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=120), "c": rng.choice(["a", "b"], 120)})
    y = (X["x"] > 0).astype(int)
    pipe = build_pipeline("sklearn.gradient_boosting", "classification", {"n_estimators": 20}, X)
    pipe.fit(X, y)
    explanation, _ = explain(pipe, X)
    report = explanation_report(explanation)
    assert external_references(report.html) == []
    assert len(re.findall(r"<rect [^>]*><title>", report.html)) == 2
    assert report.data["importance"]["x"] == pytest.approx(explanation.importance["x"])


def test_fairness_charts_fit_two_per_row_and_never_exceed_the_page(scored) -> None:
    y, score, sf = scored
    audit = audit_fairness(y, (score >= 0.5).astype(int), sf, min_group_size=30, n_bootstrap=0)
    html = fairness_report(audit).html
    # the page is 1080px wide less 1em padding each side; the flex gap is 1em
    widths = [int(w) for w in re.findall(r'<svg [^>]*?width="(\d+)"', html)]
    assert widths and all(2 * w + 16 <= 1080 - 32 for w in widths)
    assert "svg{max-width:100%;height:auto}" in html
    # shown larger than drawn, shapes in proportion (the viewBox keeps the drawing size)
    shown, drawn = re.search(r'<svg [^>]*?width="(\d+)"[^>]*?viewBox="0 0 (\d+) ', html).groups()
    assert int(shown) > int(drawn)


def test_report_json_is_strict_with_undefined_metrics_as_null() -> None:
    # a slice holding one class only: its ROC AUC is undefined
    y = np.array([0, 1, 0, 1, 1, 1])
    score = np.array([0.2, 0.8, 0.4, 0.7, 0.9, 0.6])
    result = evaluate_classification(
        y, score, slices=pd.DataFrame({"g": ["a", "a", "a", "a", "b", "b"]}), n_bootstrap=0
    )
    report = evaluation_report(result)
    data = json.loads(report.json, parse_constant=lambda c: pytest.fail(f"{c} in report JSON"))
    only_b = next(s for s in data["slices"] if s["value"] == "b")
    assert only_b["metrics"]["roc_auc"] is None
    embedded = re.search(r'<template id="report-data"[^>]*>(.*?)</template>', report.html, re.S)
    assert embedded and "NaN" not in embedded.group(1)
