"""Runs: the searchable, sortable table, one run, and several runs compared."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from falaj.errors import InvalidInputError
from falaj.ui.app import PageContext
from falaj.ui.charts import Series, line_chart
from falaj.ui.links import node_href
from falaj.ui.rendering import Page

__all__ = ["compare_page", "run_page", "runs_page"]

PAGE_SIZES = (25, 50, 100, 200)
MAX_COMPARE = 8
_MAX_KEY_COLUMNS = 6
#: sortable attribute columns: label → order-by field
ATTRIBUTE_COLUMNS = {
    "name": "name",
    "experiment": "experiment",
    "status": "status",
    "started": "start_time",
    "ended": "end_time",
}


def _per_page(ctx: PageContext) -> int:
    raw = ctx.arg("per", "50")
    if not raw.isdigit() or int(raw) not in PAGE_SIZES:
        raise InvalidInputError(
            f"per {raw!r} is invalid: expected one of {', '.join(map(str, PAGE_SIZES))}"
        )
    return int(raw)


def runs_page(ctx: PageContext) -> Page:
    """``/ui/runs?filter=...&experiment=...&order=metrics.auc&dir=desc&per=50&page=TOKEN``"""
    flt = ctx.arg("filter")
    experiment = ctx.arg("experiment") or None
    order = ctx.arg("order", "start_time")
    direction = ctx.arg("dir", "desc").lower()
    if direction not in ("asc", "desc"):
        raise InvalidInputError(f"dir {direction!r} is invalid: expected 'asc' or 'desc'")
    per = _per_page(ctx)
    token = ctx.arg("page") or None
    error = ""
    try:
        page = ctx.ws.tracking.search_runs(
            flt,
            experiment=experiment,
            order_by=[f"{order} {direction.upper()}"],
            max_results=per,
            page_token=token,
        )
        runs, next_token = page.runs, page.next_page_token
    except InvalidInputError as exc:  # a mistake in the filter: show it beside the form
        runs, next_token, error = [], None, str(exc)
    metric_keys = sorted({k for r in runs for k in r.metrics})[:_MAX_KEY_COLUMNS]
    param_keys = sorted({k for r in runs for k in r.params})[:_MAX_KEY_COLUMNS]
    keep = {"filter": flt, "experiment": experiment or "", "per": str(per)}

    def sort_href(field: str) -> str:
        flip = "asc" if order == field and direction == "desc" else "desc"
        return "?" + urlencode({**keep, "order": field, "dir": flip})

    columns: list[dict[str, Any]] = [
        {"label": label, "field": f, "href": sort_href(f)} for label, f in ATTRIBUTE_COLUMNS.items()
    ]
    columns += [
        {"label": k, "field": f"metrics.`{k}`", "href": sort_href(f"metrics.`{k}`")}
        for k in metric_keys
    ]
    columns += [
        {"label": k, "field": f"params.`{k}`", "href": sort_href(f"params.`{k}`")}
        for k in param_keys
    ]
    experiments = [e.name for e in ctx.ws.tracking.list_experiments()]
    next_href = (
        "?" + urlencode({**keep, "order": order, "dir": direction, "page": next_token})
        if next_token
        else ""
    )
    return Page(
        "runs.html",
        {
            "title": "Runs",
            "runs": runs,
            "filter": flt,
            "experiment": experiment or "",
            "experiments": experiments,
            "order": order,
            "direction": direction,
            "per": per,
            "page_sizes": PAGE_SIZES,
            "columns": columns,
            "metric_keys": metric_keys,
            "param_keys": param_keys,
            "next_href": next_href,
            "first_href": "?" + urlencode({**keep, "order": order, "dir": direction})
            if token
            else "",
            "error": error,
        },
        400 if error else 200,
    )


def _metric_charts(ctx: PageContext, run_ids: list[str], labels: dict[str, str]) -> list[Any]:
    keys = sorted({k for rid in run_ids for k in ctx.ws.tracking.get_run(rid).metrics})
    charts = []
    for key in keys:
        series = []
        for rid in run_ids:
            points = ctx.ws.tracking.metric_history(rid, key)
            if points:
                series.append(Series(labels[rid], [(float(p.step), p.value) for p in points]))
        charts.append({"key": key, "svg": line_chart(series, title=f"{key} over steps")})
    return charts


def run_page(ctx: PageContext) -> Page:
    run = ctx.ws.tracking.get_run(ctx.path_params["run_id"])
    charts = _metric_charts(ctx, [run.id], {run.id: run.name})
    inputs = [
        {"id": i.dataset_version_id, "context": i.context,
         "href": node_href(ctx.base, "dataset_version", i.dataset_version_id)}
        for i in run.inputs
    ]  # fmt: skip
    return Page(
        "run.html",
        {"title": f"Run {run.name}", "run": run, "charts": charts, "inputs": inputs},
    )


def compare_page(ctx: PageContext) -> Page:
    """``/ui/runs/compare?run=ID&run=ID``: metric charts side by side and a params/metrics diff."""
    ids = list(dict.fromkeys(ctx.args("run")))
    if len(ids) < 2 or len(ids) > MAX_COMPARE:
        raise InvalidInputError(
            f"run: {len(ids)} run(s) selected: compare between 2 and {MAX_COMPARE} runs"
        )
    runs = [ctx.ws.tracking.get_run(rid) for rid in ids]
    labels = {r.id: f"{r.name} ({r.id[:8]})" for r in runs}
    charts = _metric_charts(ctx, ids, labels)

    def rows(kind: str) -> list[dict[str, Any]]:
        keys = sorted({k for r in runs for k in getattr(r, kind)})
        out = []
        for key in keys:
            values = [getattr(r, kind).get(key) for r in runs]
            out.append({"key": key, "cells": values, "differs": len(set(map(str, values))) > 1})
        return out

    return Page(
        "compare.html",
        {
            "title": f"Compare {len(runs)} runs",
            "runs": runs,
            "labels": labels,
            "charts": charts,
            "params": rows("params"),
            "metrics": rows("metrics"),
        },
    )
