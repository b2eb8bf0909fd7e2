"""Datasets: the list, and one dataset's versions, profile, validations, anomalies, labels."""

from __future__ import annotations

from typing import Any

from falaj.errors import InvalidInputError
from falaj.ui.app import PageContext
from falaj.ui.charts import bar_chart
from falaj.ui.rendering import Page

__all__ = ["dataset_page", "datasets_page"]


def datasets_page(ctx: PageContext) -> Page:
    versions = ctx.ws.datasets.latest_versions()
    return Page("datasets.html", {"title": "Datasets", "versions": versions})


def dataset_page(ctx: PageContext) -> Page:
    """``/ui/datasets/{name}?version=N&anomalies=1``"""
    name = ctx.path_params["name"]
    raw = ctx.arg("version")
    if raw and not raw.isdigit():
        raise InvalidInputError(f"version {raw!r} is invalid: expected a version number")
    selected = ctx.ws.datasets.get(name, int(raw) if raw else None)
    versions = ctx.ws.datasets.versions(name)
    profile = ctx.ws.datasets.profile(selected.id)
    columns: list[dict[str, Any]] = []
    for col in profile.columns.values():
        chart = None
        if col.histogram is not None:
            chart = bar_chart(
                col.histogram.edges, col.histogram.counts, title=f"distribution of {col.name}"
            )
        columns.append({"profile": col, "chart": chart,
                        "labels": selected.classifications.get(col.name, [])})  # fmt: skip
    previous = [v for v in versions if v.version < selected.version]
    reference = max(previous, key=lambda v: v.version) if previous else None
    anomalies = None
    if ctx.arg("anomalies") == "1" and reference is not None:
        anomalies = ctx.ws.datasets.detect_anomalies(selected.id, reference.id)
    return Page(
        "dataset.html",
        {
            "title": f"Dataset {name}",
            "name": name,
            "selected": selected,
            "versions": versions,
            "profile": profile,
            "columns": columns,
            "validations": ctx.ws.datasets.validations(selected.id),
            "history": ctx.ws.datasets.classification_history(name),
            "reference": reference,
            "anomalies": anomalies,
        },
    )
