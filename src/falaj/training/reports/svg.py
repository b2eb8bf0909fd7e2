"""Small inline-SVG charts (line, bars with intervals, matrix) for self-contained reports.

Sites are air-gapped: the charts are plain SVG text embedded in the page, with no script, font or
stylesheet fetched from anywhere. Every label is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Bar", "Series", "bar_chart", "line_chart", "matrix_chart"]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
_FONT = 'font-family="sans-serif" font-size="11"'


@dataclass(frozen=True)
class Series:
    label: str
    x: Sequence[float]
    y: Sequence[float]


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    low: float | None = None
    high: float | None = None
    flagged: bool = False


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_range: tuple[float, float] = (0.0, 1.0),
    y_range: tuple[float, float] = (0.0, 1.0),
    diagonal: bool = False,
    markers: bool = False,
    legend: str = "top-left",
    width: int = 360,
    height: int = 280,
) -> str:
    """Lines over a fixed range (curves in [0, 1] by default), with axes, ticks and a legend
    (``legend``: top-left, top-right, bottom-left or bottom-right, inside the plot)."""
    left, right, top, bottom = 48, 12, 26, 40
    pw, ph = width - left - right, height - top - bottom
    (x0, x1), (y0, y1) = x_range, y_range

    def px(x: float) -> float:
        return left + (x - x0) / ((x1 - x0) or 1) * pw

    def py(y: float) -> float:
        return top + ph - (y - y0) / ((y1 - y0) or 1) * ph

    parts = [_open(width, height, title), _text(width / 2, 16, title, anchor="middle", bold=True)]
    parts.append(_axes(left, top, pw, ph))
    for t in _ticks(x0, x1):
        parts.append(_text(px(t), top + ph + 14, f"{t:.2g}", anchor="middle"))
    for t in _ticks(y0, y1):
        parts.append(_text(left - 4, py(t) + 4, f"{t:.2g}", anchor="end"))
    parts.append(_text(left + pw / 2, height - 6, x_label, anchor="middle"))
    parts.append(
        f'<text {_FONT} transform="translate(12,{_fmt(top + ph / 2)}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    if diagonal:
        parts.append(
            f'<line x1="{_fmt(px(x0))}" y1="{_fmt(py(y0))}" x2="{_fmt(px(x1))}" '
            f'y2="{_fmt(py(y1))}" stroke="#999" stroke-dasharray="4 3"/>'
        )
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        pts = [
            (px(x), py(y))
            for x, y in zip(s.x, s.y, strict=True)
            if math.isfinite(x) and math.isfinite(y)
        ]
        if pts:
            path = " ".join(f"{_fmt(a)},{_fmt(b)}" for a, b in pts)
            parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>'
            )
            if markers:
                parts.extend(
                    f'<circle cx="{_fmt(a)}" cy="{_fmt(b)}" r="3" fill="{color}"/>' for a, b in pts
                )
        lx = left + 8 if legend.endswith("left") else left + pw / 2
        ly = top + 6 + 14 * i if legend.startswith("top") else top + ph - 14 * (len(series) - i)
        parts.append(f'<rect x="{_fmt(lx)}" y="{_fmt(ly)}" width="10" height="3" fill="{color}"/>')
        parts.append(_text(lx + 14, ly + 5, s.label))
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    value_label: str,
    value_range: tuple[float, float] | None = None,
    reference: float | None = None,
    reference_label: str = "",
    width: int = 460,
) -> str:
    """Horizontal bars with interval whiskers; flagged bars are hatched grey."""
    label_w, right, top, row = 150, 20, 28, 22
    height = top + row * max(len(bars), 1) + 34
    pw = width - label_w - right
    values = [
        v for b in bars for v in (b.value, b.low, b.high) if v is not None and math.isfinite(v)
    ]
    lo, hi = value_range or (min([0.0, *values]), max([1e-9, *values]))

    def px(v: float) -> float:
        return label_w + (v - lo) / ((hi - lo) or 1) * pw

    parts = [_open(width, height, title), _text(width / 2, 16, title, anchor="middle", bold=True)]
    for i, b in enumerate(bars):
        y = top + i * row
        parts.append(_text(label_w - 6, y + 14, b.label, anchor="end"))
        if math.isfinite(b.value):
            fill = "#bbb" if b.flagged else PALETTE[0]
            x_start, x_end = sorted((px(max(lo, 0.0) if lo <= 0 <= hi else lo), px(b.value)))
            parts.append(
                f'<rect x="{_fmt(x_start)}" y="{y + 4}" width="{_fmt(max(x_end - x_start, 1))}" '
                f'height="{row - 8}" fill="{fill}"><title>{escape(b.label)}: {b.value:.4g}'
                "</title></rect>"
            )
        if (
            b.low is not None
            and b.high is not None
            and math.isfinite(b.low)
            and math.isfinite(b.high)
        ):
            cy = y + row / 2
            parts.append(
                f'<line x1="{_fmt(px(b.low))}" y1="{_fmt(cy)}" x2="{_fmt(px(b.high))}" '
                f'y2="{_fmt(cy)}" stroke="#222" stroke-width="1.5"/>'
            )
            for end in (b.low, b.high):
                parts.append(
                    f'<line x1="{_fmt(px(end))}" y1="{_fmt(cy - 5)}" x2="{_fmt(px(end))}" '
                    f'y2="{_fmt(cy + 5)}" stroke="#222" stroke-width="1.5"/>'
                )
    axis_y = top + row * max(len(bars), 1)
    parts.append(
        f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + pw}" y2="{axis_y}" stroke="#444"/>'
    )
    for t in _ticks(lo, hi):
        parts.append(_text(px(t), axis_y + 14, f"{t:.2g}", anchor="middle"))
    parts.append(_text(label_w + pw / 2, axis_y + 28, value_label, anchor="middle"))
    if reference is not None and lo <= reference <= hi:
        parts.append(
            f'<line x1="{_fmt(px(reference))}" y1="{top - 4}" x2="{_fmt(px(reference))}" '
            f'y2="{axis_y}" stroke="#d62728" stroke-dasharray="4 3"/>'
        )
        parts.append(_text(px(reference), top - 6, reference_label, anchor="middle"))
    parts.append("</svg>")
    return "".join(parts)


def matrix_chart(
    cells: Sequence[Sequence[int]],
    *,
    title: str,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    row_title: str = "actual",
    col_title: str = "predicted",
) -> str:
    """A confusion-matrix style grid, shaded by count."""
    size, left, top = 70, 90, 48
    n_rows, n_cols = len(cells), len(cells[0]) if cells else 0
    width, height = left + size * n_cols + 20, top + size * n_rows + 20
    peak = max([1, *[v for r in cells for v in r]])
    parts = [_open(width, height, title), _text(width / 2, 16, title, anchor="middle", bold=True)]
    parts.append(_text(left + size * n_cols / 2, 32, col_title, anchor="middle"))
    for j, label in enumerate(col_labels):
        parts.append(_text(left + size * j + size / 2, top - 4, label, anchor="middle"))
    for i, row in enumerate(cells):
        parts.append(
            _text(
                left - 6,
                top + size * i + size / 2 + 4,
                f"{row_title} {row_labels[i]}",
                anchor="end",
            )
        )
        for j, value in enumerate(row):
            shade = int(235 - 160 * value / peak)
            parts.append(
                f'<rect x="{left + size * j}" y="{top + size * i}" width="{size}" '
                f'height="{size}" fill="rgb({shade},{shade + 10 if shade < 245 else 255},255)" '
                'stroke="#fff"/>'
            )
            parts.append(
                _text(
                    left + size * j + size / 2,
                    top + size * i + size / 2 + 4,
                    str(value),
                    anchor="middle",
                    bold=True,
                    fill="#fff" if shade < 150 else "#222",
                )
            )
    parts.append("</svg>")
    return "".join(parts)


_SCALE = 1.35
"""Charts are drawn in a small coordinate system and displayed this much larger, so that their
labels read at the size of the page's text (the viewBox keeps every shape in proportion)."""


def _open(width: int, height: int, title: str) -> str:
    shown_w, shown_h = round(width * _SCALE), round(height * _SCALE)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{shown_w}" height="{shown_h}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
    )


def _axes(left: float, top: float, pw: float, ph: float) -> str:
    return f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#444"/>'


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    bold: bool = False,
    fill: str = "#222",
) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{_fmt(x)}" y="{_fmt(y)}" {_FONT} fill="{fill}" text-anchor="{anchor}"{weight}>'
        f"{escape(str(text))}</text>"
    )
