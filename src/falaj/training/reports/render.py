"""Evaluation, fairness and explanation reports: self-contained HTML plus JSON for machines."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from falaj.training.evaluation import EvaluationResult
from falaj.training.explain import Explanation
from falaj.training.fairness import FairnessReport
from falaj.training.reports.html import Markup, dumps, page, table
from falaj.training.reports.svg import Bar, Series, bar_chart, line_chart, matrix_chart

__all__ = [
    "Report",
    "evaluation_report",
    "explanation_report",
    "fairness_report",
]

_PROBABILITY_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "brier")


@dataclass(frozen=True)
class Report:
    """One report: its kind, the HTML page and the JSON document (same content)."""

    kind: str
    title: str
    html: str
    data: dict[str, Any]

    @property
    def json(self) -> str:
        return dumps(self.data)

    def html_bytes(self) -> bytes:
        return self.html.encode("utf-8")

    def json_bytes(self) -> bytes:
        return self.json.encode("utf-8")


def _subject(subject: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(subject or {})


def evaluation_report(
    result: EvaluationResult, *, subject: Mapping[str, Any] | None = None
) -> Report:
    """Metrics with intervals, ROC / PR / calibration curves, confusion matrix, slices."""
    meta = {
        **_subject(subject),
        "task": result.task,
        "rows": result.n_samples,
        "bootstrap": result.n_bootstrap,
        "confidence": result.confidence,
    }
    level = f"{result.confidence:.0%}"
    rows = [
        [name, value, *result.intervals.get(name, (None, None))]
        for name, value in result.metrics.items()
    ]
    sections = [("Metrics", table(["metric", "value", f"{level} low", f"{level} high"], rows))]
    bounded = [m for m in _PROBABILITY_METRICS if m in result.metrics]
    if result.task == "classification" and bounded:
        bars = [
            Bar(m, result.metrics[m], _lo(result.intervals.get(m)), _hi(result.intervals.get(m)))
            for m in bounded
        ]
        sections.append(
            (
                "Intervals",
                bar_chart(
                    bars,
                    title=f"metrics with {level} bootstrap intervals",
                    value_label="value",
                    value_range=(0.0, 1.0),
                ),
            )
        )
    charts = []
    roc, pr, cal = (result.curves.get(k) for k in ("roc", "pr", "calibration"))
    if roc is not None:
        auc = result.metrics.get("roc_auc", math.nan)
        charts.append(
            line_chart(
                [Series(f"ROC (AUC {auc:.3f})", roc.x, roc.y)],
                title="ROC curve",
                x_label=roc.x_label,
                y_label=roc.y_label,
                diagonal=True,
                legend="bottom-right",
            )
        )
    if pr is not None:
        ap = result.metrics.get("pr_auc", math.nan)
        charts.append(
            line_chart(
                [Series(f"PR (AP {ap:.3f})", pr.x, pr.y)],
                title="Precision-recall curve",
                x_label=pr.x_label,
                y_label=pr.y_label,
                legend="bottom-left",
            )
        )
    if cal is not None:
        charts.append(
            line_chart(
                [Series("model", cal.x, cal.y)],
                title="Calibration",
                x_label=cal.x_label,
                y_label=cal.y_label,
                diagonal=True,
                markers=True,
            )
        )
    if result.confusion_matrix is not None and result.labels is not None:
        labels = [str(v) for v in result.labels]
        charts.append(
            matrix_chart(
                result.confusion_matrix,
                title=f"Confusion matrix (threshold {result.threshold})",
                row_labels=labels,
                col_labels=labels,
            )
        )
    if charts:
        sections.append(("Curves", f'<div class="charts">{"".join(charts)}</div>'))
    if result.slices:
        keys = list(result.metrics)[:4]
        slice_rows = [
            [
                s.column,
                s.value,
                s.n,
                *[Markup(_with_interval(s.metrics.get(k), s.intervals.get(k))) for k in keys],
            ]
            for s in result.slices
        ]
        sections.append(("Slices", table(["column", "value", "rows", *keys], slice_rows)))
    data = {"kind": "evaluation", "subject": _subject(subject), **result.as_dict()}
    title = "Evaluation report"
    return Report("evaluation", title, page(title, sections, meta=meta, data=data), data)


def _lo(interval: tuple[float, float] | None) -> float | None:
    return interval[0] if interval else None


def _hi(interval: tuple[float, float] | None) -> float | None:
    return interval[1] if interval else None


def _with_interval(value: float | None, interval: tuple[float, float] | None) -> str:
    if value is None:
        return "n/a"
    if interval is None:
        return f"{value:.4g}"
    return f"{value:.4g} <small>[{interval[0]:.3g}, {interval[1]:.3g}]</small>"


def _verdict(passed: bool | None) -> str:
    if passed is None:
        return '<p class="none">No verdict: audited without a policy (metrics only).</p>'
    if passed:
        return '<p class="pass">PASSED: every threshold of the policy holds.</p>'
    return '<p class="fail">FAILED: at least one threshold of the policy is exceeded.</p>'


def fairness_report(report: FairnessReport, *, subject: Mapping[str, Any] | None = None) -> Report:
    """Verdict, thresholds with their justification, disparities, group bars with intervals."""
    level = f"{report.confidence:.0%}"
    meta = {
        **_subject(subject),
        "rows": report.n_samples,
        "min group size": report.min_group_size,
        "bootstrap": report.n_bootstrap,
    }
    sections = [("Verdict", _verdict(report.passed))]
    if report.policy is not None:
        rows = [
            [t.metric, "at most" if t.max is not None else "at least", t.bound, t.justification]
            for t in report.policy.thresholds
        ]
        sections.append(
            (
                f"Policy: {report.policy.name}",
                table(["metric", "bound", "threshold", "justification"], rows),
            )
        )
    for audit in report.audits:
        parts = []
        checks = {c.threshold.metric: c for c in audit.checks}
        drows = []
        for metric, value in audit.disparities.items():
            check = checks.get(metric)
            status = ("pass" if check.passed else "fail") if check else "none"
            label = {"pass": "pass", "fail": "FAIL", "none": "no threshold"}[status]
            drows.append([metric, value, Markup(f'<span class="{status}">{label}</span>')])
        parts.append(table(["disparity", "value", "check"], drows))
        charts = []
        for metric in ("selection_rate", "tpr", "fpr", "accuracy"):
            bars = [
                Bar(
                    f"{g.group} (n={g.count})",
                    g.metrics[metric],
                    _lo(g.intervals.get(metric)),
                    _hi(g.intervals.get(metric)),
                    flagged=not g.reliable,
                )
                for g in audit.groups
            ]
            charts.append(
                bar_chart(
                    bars,
                    title=f"{metric} by {audit.name}",
                    value_label=metric,
                    value_range=(0.0, 1.0),
                    width=370,  # two charts side by side on the page
                )
            )
        parts.append(f'<div class="charts">{"".join(charts)}</div>')
        grows = [
            [
                g.group,
                g.count,
                *[
                    Markup(_with_interval(g.metrics[m], g.intervals.get(m)))
                    for m in ("selection_rate", "tpr", "fpr", "accuracy")
                ],
                "yes" if g.reliable else f"NO (fewer than {report.min_group_size})",
            ]
            for g in audit.groups
        ]
        parts.append(
            table(
                [
                    "group",
                    "count",
                    f"selection rate [{level}]",
                    "TPR",
                    "FPR",
                    "accuracy",
                    "reliable",
                ],
                grows,
                flagged=[not g.reliable for g in audit.groups],
            )
        )
        sections.append((f"Sensitive feature: {audit.name}", "".join(parts)))
    if report.unreliable_groups:
        items = "".join(f"<li>{escape(g)}</li>" for g in report.unreliable_groups)
        sections.append(
            (
                "Unreliable groups",
                f"<p>Too small to trust (fewer than "
                f"{report.min_group_size} rows):</p><ul>{items}</ul>",
            )
        )
    data = {"kind": "fairness", "subject": _subject(subject), **report.as_dict()}
    title = "Fairness audit"
    return Report("fairness", title, page(title, sections, meta=meta, data=data), data)


def explanation_report(
    explanation: Explanation, *, subject: Mapping[str, Any] | None = None
) -> Report:
    """Global importance bars and per-feature effect summaries."""
    meta = {
        **_subject(subject),
        "method": explanation.method,
        "output": explanation.output,
        "rows explained": explanation.n_samples,
    }
    bars = [Bar(f, v) for f, v in explanation.importance.items()]
    sections = [
        (
            "Global importance",
            bar_chart(
                bars,
                title="mean |contribution| per input column",
                value_label=f"mean |SHAP| ({explanation.output})",
            ),
        )
    ]
    rows = []
    for e in explanation.effects:
        if e.by_category:
            cats = ", ".join(f"{k}: {v:+.3g}" for k, v in list(e.by_category.items())[:6])
            detail = f"mean contribution by category: {cats}"
        else:
            detail = e.direction
        rows.append([e.feature, e.kind, e.mean_abs, e.mean, detail])
    sections.append(
        (
            "Effects",
            table(["feature", "kind", "mean |contribution|", "mean contribution", "effect"], rows),
        )
    )
    sections.append(
        (
            "How to read this",
            (
                "<p>Contributions are SHAP values in the model's "
                f"{escape(explanation.output)} units: a prediction equals the base value "
                f"({explanation.base_value:.4g}) plus the contributions of its input columns. "
                "One-hot encoded columns are summed back into the column they came from.</p>"
            ),
        )
    )
    data = {"kind": "explanation", "subject": _subject(subject), **explanation.as_dict()}
    title = "Explanation report"
    return Report("explanation", title, page(title, sections, meta=meta, data=data), data)
