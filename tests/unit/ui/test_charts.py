"""Inline SVG charts: the numbers drawn are the numbers given; labels are escaped."""

from __future__ import annotations

import re

from falaj.ui.charts import Series, bar_chart, line_chart, lineage_svg


def test_line_chart_draws_one_polyline_per_series_across_the_plot() -> None:
    svg = str(
        line_chart(
            [Series("a", [(0, 1.0), (1, 2.0), (2, 3.0)]), Series("b", [(0, 3.0), (2, 1.0)])],
            title="loss over steps",
        )
    )
    lines = re.findall(r'<polyline class="(s\d)" points="([^"]+)"', svg)
    assert [c for c, _ in lines] == ["s0", "s1"]
    first = [tuple(map(float, p.split(","))) for p in lines[0][1].split()]
    assert len(first) == 3
    xs, ys = [p[0] for p in first], [p[1] for p in first]
    assert xs == sorted(xs) and ys == sorted(ys, reverse=True)  # rising values go up
    assert 'aria-label="loss over steps"' in svg


def test_line_chart_without_points_says_so() -> None:
    assert "no data" in str(line_chart([Series("a", [])], title="empty"))


def test_labels_are_escaped() -> None:
    svg = str(line_chart([Series("<script>", [(0, 1.0)])], title="<b>"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_histogram_bar_heights_follow_the_counts() -> None:
    svg = str(bar_chart([0, 1, 2, 3], [1, 4, 2], title="h"))
    heights = [float(h) for h in re.findall(r'class="bar"[^>]*height="([0-9.]+)"', svg)]
    assert len(heights) == 3
    assert heights[1] == max(heights) and abs(heights[0] * 4 - heights[1]) < 0.5


def test_lineage_links_nodes_and_orders_data_before_models() -> None:
    edges = [
        ("dataset_version", "d@1", "run", "r1", "input"),
        ("run", "r1", "model_version", "m/1", "produced"),
    ]
    svg = str(
        lineage_svg(
            edges,
            focus=("model_version", "m/1"),
            links={("dataset_version", "d@1"): "/ui/datasets/d?version=1"},
            title="lineage",
        )
    )
    assert '<a href="/ui/datasets/d?version=1"' in svg
    xs = {
        k: float(x)
        for x, k in re.findall(
            r'<rect class="node[^"]*" x="([0-9.]+)"[^>]*/>'
            r'<text[^>]*class="kind">([a-z_]+)<',
            svg,
        )
    }
    assert xs["dataset_version"] < xs["run"] < xs["model_version"]
