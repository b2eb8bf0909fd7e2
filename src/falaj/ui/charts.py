"""Charts as inline SVG, drawn on the server: no JavaScript library, no CDN, works air-gapped.

Each chart is ``role="img"`` with a title naming what it shows; pages put the numbers beside it
in a table for screen readers and copy-paste. Colours come from CSS classes (``s0``..``s7``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Series", "bar_chart", "line_chart", "lineage_svg"]

_W, _H = 640, 260
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 56, 16, 16, 36


@dataclass(frozen=True)
class Series:
    """One line: a label and its (x, y) points."""

    label: str
    points: Sequence[tuple[float, float]]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000 or abs(value) < 0.01:
        return f"{value:.3g}"
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _span(lo: float, hi: float) -> tuple[float, float]:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 0.0, 1.0
    if hi == lo:
        pad = abs(hi) * 0.05 or 1.0
        return lo - pad, hi + pad
    return lo, hi


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str = "step",
    y_label: str = "",
    threshold: float | None = None,
) -> Markup:
    """Several series over a shared x axis (metric over steps, requests over time)."""
    pts = [(x, y) for s in series for x, y in s.points if math.isfinite(y)]
    head = (
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(title)}</title>"
    )
    if not pts:
        return Markup(
            head + f'<text x="{_W // 2}" y="{_H // 2}" text-anchor="middle">no data</text></svg>'
        )
    x0, x1 = _span(min(p[0] for p in pts), max(p[0] for p in pts))
    ys = [p[1] for p in pts] + ([threshold] if threshold is not None else [])
    y0, y1 = _span(min(ys), max(ys))
    iw, ih = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B

    def sx(x: float) -> float:
        return _PAD_L + (x - x0) / (x1 - x0) * iw

    def sy(y: float) -> float:
        return _PAD_T + ih - (y - y0) / (y1 - y0) * ih

    parts = [head, f'<g class="axis"><rect x="{_PAD_L}" y="{_PAD_T}" width="{iw}" height="{ih}"/>']
    for frac in (0.0, 0.5, 1.0):
        yv = y0 + (y1 - y0) * frac
        parts.append(
            f'<text x="{_PAD_L - 6}" y="{sy(yv) + 4:.1f}" text-anchor="end">{_fmt(yv)}</text>'
        )
        xv = x0 + (x1 - x0) * frac
        parts.append(
            f'<text x="{sx(xv):.1f}" y="{_H - _PAD_B + 16}" text-anchor="middle">{_fmt(xv)}</text>'
        )
    parts.append(
        f'<text x="{_PAD_L + iw / 2:.1f}" y="{_H - 4}" text-anchor="middle">{escape(x_label)}'
        f"</text>"
    )
    if y_label:
        parts.append(f'<text x="4" y="{_PAD_T + 10}">{escape(y_label)}</text>')
    parts.append("</g>")
    if threshold is not None:
        parts.append(
            f'<line class="threshold" x1="{_PAD_L}" x2="{_PAD_L + iw}" '
            f'y1="{sy(threshold):.1f}" y2="{sy(threshold):.1f}"/>'
        )
    for i, s in enumerate(series):
        good = [(x, y) for x, y in s.points if math.isfinite(y)]
        cls = f"s{i % 8}"
        if len(good) == 1:
            x, y = good[0]
            parts.append(f'<circle class="{cls}" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3"/>')
        elif good:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in good)
            parts.append(
                f'<polyline class="{cls}" points="{path}"><title>{escape(s.label)}'
                "</title></polyline>"
            )
    parts.append("</svg>")
    legend = "".join(
        f'<li><span class="swatch s{i % 8}" aria-hidden="true"></span>{escape(s.label)}</li>'
        for i, s in enumerate(series)
    )
    return Markup("".join(parts) + f'<ul class="legend">{legend}</ul>')


def bar_chart(edges: Sequence[float], counts: Sequence[int], *, title: str) -> Markup:
    """A histogram: ``len(edges) == len(counts) + 1``."""
    head = (
        f'<svg class="chart hist" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    )
    if not counts or len(edges) != len(counts) + 1:
        return Markup(
            head + f'<text x="{_W // 2}" y="{_H // 2}" text-anchor="middle">no data</text></svg>'
        )
    iw, ih = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B
    top = max(counts) or 1
    width = iw / len(counts)
    parts = [head, f'<g class="axis"><rect x="{_PAD_L}" y="{_PAD_T}" width="{iw}" height="{ih}"/>']
    parts.append(f'<text x="{_PAD_L - 6}" y="{_PAD_T + 4}" text-anchor="end">{top}</text>')
    parts.append(f'<text x="{_PAD_L - 6}" y="{_PAD_T + ih + 4}" text-anchor="end">0</text>')
    parts.append(
        f'<text x="{_PAD_L}" y="{_H - _PAD_B + 16}" text-anchor="start">{_fmt(edges[0])}</text>'
    )
    parts.append(
        f'<text x="{_PAD_L + iw}" y="{_H - _PAD_B + 16}" text-anchor="end">{_fmt(edges[-1])}'
        "</text></g>"
    )
    for i, count in enumerate(counts):
        h = ih * count / top
        parts.append(
            f'<rect class="bar" x="{_PAD_L + i * width + 1:.1f}" y="{_PAD_T + ih - h:.1f}" '
            f'width="{max(width - 2, 1):.1f}" height="{h:.1f}"><title>'
            f"[{_fmt(edges[i])}, {_fmt(edges[i + 1])}): {count}</title></rect>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


#: left-to-right order of node kinds in a lineage drawing (data → run → version → deployment)
_KIND_RANK = {
    "source": 0,
    "artifact": 1,
    "dataset_version": 1,
    "pipeline_run": 2,
    "step_run": 2,
    "run": 3,
    "model_version": 4,
    "deployment": 5,
    "prediction": 6,
}


def lineage_svg(
    edges: Sequence[tuple[str, str, str, str, str]],
    *,
    focus: tuple[str, str],
    links: dict[tuple[str, str], str],
    title: str,
) -> Markup:
    """A lineage graph: ``edges`` are ``(source_kind, source_id, target_kind, target_id,
    relation)``; nodes are laid out in columns by kind, linked to their page when ``links`` has
    one (keyboard-focusable ``<a>`` elements)."""
    nodes: set[tuple[str, str]] = {focus}
    for sk, si, tk, ti, _ in edges:
        nodes.update({(sk, si), (tk, ti)})
    columns: dict[int, list[tuple[str, str]]] = {}
    for node in sorted(nodes):
        columns.setdefault(_KIND_RANK.get(node[0], 3), []).append(node)
    ranks = sorted(columns)
    col_w, row_h, box_w, box_h = 210, 64, 190, 44
    width = max(len(ranks), 1) * col_w + 20
    height = max(len(c) for c in columns.values()) * row_h + 20
    pos: dict[tuple[str, str], tuple[float, float]] = {}
    for ci, rank in enumerate(ranks):
        for ri, node in enumerate(columns[rank]):
            pos[node] = (10 + ci * col_w, 10 + ri * row_h)
    parts = [
        f'<svg class="lineage" viewBox="0 0 {width} {height}" width="{width}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>'
    ]
    for sk, si, tk, ti, rel in edges:
        (ax, ay), (bx, by) = pos[(sk, si)], pos[(tk, ti)]
        parts.append(
            f'<line class="edge" x1="{ax + box_w:.0f}" y1="{ay + box_h / 2:.0f}" '
            f'x2="{bx:.0f}" y2="{by + box_h / 2:.0f}" marker-end="url(#arrow)">'
            f"<title>{escape(rel)}</title></line>"
        )
    for node, (x, y) in pos.items():
        kind, ident = node
        label = ident if len(ident) <= 26 else ident[:12] + "…" + ident[-12:]
        cls = "node focus" if node == focus else "node"
        box = (
            f'<rect class="{cls}" x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="6"/>'
            f'<text x="{x + 8}" y="{y + 17}" class="kind">{escape(kind)}</text>'
            f'<text x="{x + 8}" y="{y + 35}">{escape(label)}</text>'
        )
        href = links.get(node)
        if href:
            parts.append(
                f'<a href="{escape(href)}" class="node-link" '
                f'aria-label="{escape(kind)} {escape(ident)}">{box}</a>'
            )
        else:
            parts.append(f"<g>{box}</g>")
    parts.append("</svg>")
    return Markup("".join(parts))
