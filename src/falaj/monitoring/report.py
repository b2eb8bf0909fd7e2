"""The self-contained HTML drift report: one file, inline CSS and SVG, nothing fetched.

Built on the training reports' page and chart helpers (:mod:`falaj.training.reports`): a summary
table of every feature's test, statistic, p-value and verdict; per feature, the reference and
current shares per reference decile (numeric) or category, side by side; and the trend of the
share of drifted features over the stored windows.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from falaj.training.reports.html import Markup, fmt, page, table
from falaj.training.reports.svg import Series, line_chart

if TYPE_CHECKING:
    from falaj.monitoring.outcomes import DriftOutcome

__all__ = ["paired_bars", "render_drift_report"]

_REF, _CUR = "#1f77b4", "#d62728"


def paired_bars(title: str, labels: list[str], reference: list[float], current: list[float]) -> str:
    """Reference and current shares per bucket as paired vertical bars (inline SVG)."""
    width, height, left, bottom, top = 420, 220, 40, 40, 30
    n = max(len(labels), 1)
    pw, ph = width - left - 10, height - top - bottom
    peak = max([1e-9, *reference, *current])
    slot = pw / n
    bar = slot * 0.38
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{width / 2}" y="16" text-anchor="middle" font-family="sans-serif" '
        f'font-size="12" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#888"/>',
    ]
    for i, label in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        for j, (value, color) in enumerate(((reference[i], _REF), (current[i], _CUR))):
            h = value / peak * ph
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{top + ph - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{escape(label)}: '
                f"{'reference' if j == 0 else 'current'} {value:.3f}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + bar:.1f}" y="{top + ph + 14}" text-anchor="middle" '
            f'font-family="sans-serif" font-size="9">{escape(str(label)[:10])}</text>'
        )
    parts.append(
        f'<rect x="{left}" y="{height - 14}" width="10" height="10" fill="{_REF}"/>'
        f'<text x="{left + 14}" y="{height - 5}" font-family="sans-serif" font-size="10">'
        f'reference</text><rect x="{left + 90}" y="{height - 14}" width="10" height="10" '
        f'fill="{_CUR}"/><text x="{left + 104}" y="{height - 5}" font-family="sans-serif" '
        'font-size="10">current</text></svg>'
    )
    return "".join(parts)


def render_drift_report(outcome: DriftOutcome, trend: list[dict[str, Any]]) -> str:
    """The report of one drift check, with the trend of earlier stored checks."""
    report = outcome.report
    verdict = (
        '<span class="fail">DRIFT</span>'
        if report.drifted
        else '<span class="pass">no drift</span>'
    )
    rows = []
    flagged = []
    for column, f in report.features.items():
        rows.append(
            [column, f.kind, f.test, f.statistic, f.p_value, f.threshold,
             Markup('<span class="fail">yes</span>' if f.drifted else "no"),
             f.scores.get("psi"), f.null_share]
        )  # fmt: skip
        flagged.append(f.drifted)
    summary = (
        f"<p>Verdict: {verdict}: {len(report.drifted_columns)} of {len(report.features)} "
        f"features drifted (share {fmt(report.share_drifted)}, threshold "
        f"{fmt(report.config.drift_share)}); {report.rows} current rows against "
        f"{report.reference_rows} reference rows of <code>{escape(outcome.reference)}</code>. "
        f"P-value tests corrected with {escape(report.config.correction)} at alpha "
        f"{fmt(report.config.alpha)}.</p>"
    )
    summary += table(
        ["feature", "type", "test", "statistic", "p-value", "threshold", "drifted", "PSI",
         "null share"],
        rows,
        flagged=flagged,
    )  # fmt: skip
    charts = [
        paired_bars(f"{c} ({f.test} {fmt(f.statistic, 3)})", **_chart(f.chart))
        for c, f in report.features.items()
        if f.chart["labels"]
    ]
    if report.prediction is not None and report.prediction.chart["labels"]:
        p = report.prediction
        charts.insert(
            0, paired_bars(f"predictions ({p.test} {fmt(p.statistic, 3)})", **_chart(p.chart))
        )
    sections = [
        ("Summary", summary),
        ("Distributions: reference vs current", f'<div class="charts">{"".join(charts)}</div>'),
    ]
    points = [t for t in reversed(trend) if t.get("score") is not None]
    if len(points) >= 2:
        xs = list(range(len(points)))
        chart = line_chart(
            [Series("share of drifted features", xs, [float(t["score"]) for t in points])],
            title="Drift over stored windows (oldest to newest)",
            x_label="window",
            y_label="share drifted",
            x_range=(0.0, float(max(len(points) - 1, 1))),
            markers=True,
        )
        sections.append(("Trend", chart))
    meta = {
        "model": outcome.model,
        "version": outcome.version,
        "reference": outcome.reference,
        "window start": outcome.window.start.isoformat() if outcome.window.start else "all",
        "window end": outcome.window.end.isoformat(),
    }
    return page(
        f"Drift report: {outcome.model} v{outcome.version}",
        sections,
        meta=meta,
        data=outcome.as_dict(),
    )


def _chart(chart: dict[str, list[Any]]) -> dict[str, Any]:
    return {
        "labels": [str(x) for x in chart["labels"]],
        "reference": [float(x) for x in chart["reference"]],
        "current": [float(x) for x in chart["current"]],
    }
