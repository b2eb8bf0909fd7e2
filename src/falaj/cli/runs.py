"""``falaj runs``: list, show, search and compare tracked runs."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from falaj.cli.choices import EndStatus
from falaj.cli.common import console, open_workspace, print_json

if TYPE_CHECKING:
    from falaj.tracking.entities import Run
    from falaj.workspace import Workspace

app = typer.Typer(help="Tracked runs: list, show, search and compare.", no_args_is_help=True)

_STATUS_STYLE = {"FINISHED": "green", "FAILED": "red", "KILLED": "yellow", "RUNNING": "cyan"}


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _duration(run: Run) -> str:
    if run.end_time is None:
        return "-"
    return f"{(run.end_time - run.start_time).total_seconds():.1f} s"


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isnan(value):
        return "nan"
    return f"{value:.6g}"


def _runs_table(runs: list[Run], metric_keys: list[str]) -> Table:
    table = Table("run", "name", "experiment", "status", "started (UTC)", "duration")
    for key in metric_keys:
        table.add_column(key, justify="right")
    for run in runs:
        style = _STATUS_STYLE.get(run.status, "")
        table.add_row(
            run.id[:12],
            escape(run.name),
            run.experiment,
            f"[{style}]{run.status}[/]",
            _when(run.start_time),
            _duration(run),
            *[_number(run.metrics.get(k)) for k in metric_keys],
        )
    return table


def _metric_columns(runs: list[Run], limit: int = 4) -> list[str]:
    keys: dict[str, None] = {}
    for run in runs:
        keys.update(dict.fromkeys(run.metrics))
    return sorted(keys)[:limit]


def _print_page(runs: list[Run], token: str | None, as_json: bool) -> None:
    if as_json:
        print_json({"runs": [r.as_dict() for r in runs], "next_page_token": token})
        return
    if not runs:
        console.print("no runs match")
        return
    console.print(_runs_table(runs, _metric_columns(runs)))
    if token:
        console.print(f"more runs: --page-token {token}", highlight=False)


@app.command("list")
def list_(
    ctx: typer.Context,
    experiment: str | None = typer.Option(None, "--experiment", "-e", help="Only this experiment."),
    limit: int = typer.Option(20, min=1, max=10_000, help="How many, newest first."),
    stale: bool = typer.Option(
        False,
        "--stale",
        help="Only runs still RUNNING whose process (on this host) is gone: end them with "
        "`falaj runs end RUN --status KILLED`.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List runs, newest first."""
    with open_workspace(ctx) as ws:
        if stale:
            runs = ws.tracking.stale_runs(experiment=experiment)[:limit]
            _print_page(runs, None, as_json)
            return
        page = ws.tracking.search_runs(experiment=experiment, max_results=limit)
    _print_page(page.runs, page.next_page_token, as_json)


@app.command("search")
def search(
    ctx: typer.Context,
    filter_text: str = typer.Argument(
        "", metavar="FILTER", help="e.g. \"metrics.auc > 0.8 and params.model = 'lgbm'\""
    ),
    experiment: str | None = typer.Option(None, "--experiment", "-e", help="Only this experiment."),
    order_by: list[str] = typer.Option(
        [], "--order-by", "-o", help="e.g. 'metrics.auc DESC' (repeatable)."
    ),
    max_results: int = typer.Option(100, min=1, max=10_000, help="Runs per page."),
    page_token: str | None = typer.Option(None, help="next_page_token of a previous page."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Search runs with the filter language (metrics., params., tags., attributes)."""
    with open_workspace(ctx) as ws:
        page = ws.tracking.search_runs(
            filter_text,
            experiment=experiment,
            order_by=order_by or None,
            max_results=max_results,
            page_token=page_token,
        )
    _print_page(page.runs, page.next_page_token, as_json)


def resolve_run(ws: Workspace, run_id: str) -> Run:
    """A run by full id, or by a unique id prefix (as ``runs list`` shows them)."""
    from falaj.tracking.errors import RunNotFoundError

    try:
        return ws.tracking.get_run(run_id)
    except RunNotFoundError:
        if not run_id or not all(c in "0123456789abcdef" for c in run_id):
            raise
        if len(run_id) < 6:
            raise RunNotFoundError(
                f"run {run_id!r} does not exist (an id prefix needs at least 6 characters)"
            ) from None
    matches = [r for r in ws.tracking.search_runs(f"run_id LIKE '{run_id}%'").runs]
    if len(matches) != 1:
        raise RunNotFoundError(
            f"run {run_id!r} does not exist"
            + (f" ({len(matches)} runs start with it; give more characters)" if matches else "")
        )
    # search results are the light record; the full id reads models, artifacts and inputs too
    return ws.tracking.get_run(matches[0].id)


@app.command("show")
def show(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., help="Run id (or a unique prefix of it)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show one run: attributes, params, latest metrics, tags, artifacts, models, inputs."""
    with open_workspace(ctx) as ws:
        run = resolve_run(ws, run_id)
    if as_json:
        print_json(run.as_dict())
        return
    style = _STATUS_STYLE.get(run.status, "")
    header = f"[bold]run {run.id}[/]  {escape(run.name)}  [{style}]{run.status}[/]"
    console.print(header, highlight=False)
    console.print(
        f"experiment {run.experiment} · by {run.created_by} · started {_when(run.start_time)} "
        f"· ended {_when(run.end_time)} · {_duration(run)}"
        + (f" · parent {run.parent_id}" if run.parent_id else ""),
        highlight=False,
    )
    for title, values in (("params", run.params), ("metrics", run.metrics), ("tags", run.tags)):
        if values:
            table = Table("key", "value", title=title, title_justify="left")
            for key, value in values.items():
                text = _number(value) if isinstance(value, float) else str(value)
                table.add_row(escape(key), escape(text))
            console.print(table)
    if run.artifacts:
        table = Table(
            "name", "digest", "size", "media type", title="artifacts", title_justify="left"
        )
        for a in run.artifacts:
            table.add_row(a.name, a.digest[:16], f"{a.size:,}", a.media_type)
        console.print(table)
    for m in run.models:
        console.print(f"model {m.uri}  flavor {m.flavor}  sha256:{m.artifact_digest[:16]}")
    for i in run.inputs:
        console.print(f"input dataset {i.dataset_version_id} ({i.context})")
    if run.error:
        console.print(f"[red]error:[/] {escape(run.error.splitlines()[0])}", highlight=False)


def _diff_rows(runs: list[Run], attr: str) -> list[tuple[str, list[Any], bool]]:
    keys: dict[str, None] = {}
    for run in runs:
        keys.update(dict.fromkeys(getattr(run, attr)))
    rows = []
    for key in sorted(keys):
        values = [getattr(run, attr).get(key) for run in runs]
        same = all(_same(v, values[0]) for v in values)
        rows.append((key, values, not same))
    return rows


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


@app.command("compare")
def compare(
    ctx: typer.Context,
    run_ids: list[str] = typer.Argument(..., help="Two or more run ids (or unique prefixes)."),
    only_diff: bool = typer.Option(False, "--only-diff", help="Hide rows that are equal."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Params and metrics side by side; rows that differ are highlighted."""
    from falaj.errors import InvalidInputError

    if len(run_ids) < 2:
        raise InvalidInputError(f"compare needs at least two run ids, got {len(run_ids)}")
    with open_workspace(ctx) as ws:
        runs = [resolve_run(ws, run_id) for run_id in run_ids]
    sections = {
        "params": _diff_rows(runs, "params"),
        "metrics": _diff_rows(runs, "metrics"),
        "tags": _diff_rows(runs, "tags"),
    }
    if as_json:
        print_json(
            {
                "runs": [r.id for r in runs],
                **{
                    name: {
                        key: {"values": values, "differs": differs} for key, values, differs in rows
                    }
                    for name, rows in sections.items()
                },
            }
        )
        return
    table = Table("", *[f"{escape(r.name)}\n{r.id[:12]}" for r in runs], title="run comparison")
    table.add_row("experiment", *[r.experiment for r in runs])
    table.add_row("status", *[f"[{_STATUS_STYLE.get(r.status, '')}]{r.status}[/]" for r in runs])
    table.add_row("duration", *[_duration(r) for r in runs], end_section=True)
    differing = 0
    for name, rows in sections.items():
        shown = [(k, v, d) for k, v, d in rows if d or not only_diff]
        for index, (key, values, differs) in enumerate(shown):
            differing += differs
            cells = [_cell(v, differs) for v in values]
            if name == "metrics" and differs and len(runs) == 2:
                cells[1] += _delta(values[0], values[1])
            label = f"[bold yellow]{name}.{key}[/]" if differs else f"{name}.{key}"
            table.add_row(label, *cells, end_section=index == len(shown) - 1)
    console.print(table)
    console.print(f"{differing} differing value(s) highlighted")


def _cell(value: Any, differs: bool) -> str:
    text = "-" if value is None else (_number(value) if isinstance(value, float) else str(value))
    text = escape(text)
    return f"[bold yellow]{text}[/]" if differs else text


def _delta(a: Any, b: Any) -> str:
    if not isinstance(a, float) or not isinstance(b, float) or math.isnan(a) or math.isnan(b):
        return ""
    return f" ({b - a:+.4g})"


@app.command("end")
def end(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., metavar="RUN", help="Run id (or a unique prefix of one)."),
    status: EndStatus = typer.Option(
        EndStatus.KILLED,
        "--status",
        case_sensitive=False,
        help="How the run is recorded as ended.",
    ),
    reason: str = typer.Option("", "--reason", help="Why, recorded with the run and audited."),
) -> None:
    """End a run left RUNNING by a process that was killed (audited as run.end)."""
    with open_workspace(ctx) as ws:
        run = ws.tracking.end_run(resolve_run(ws, run_id).id, status.value, reason=reason)
    console.print(f"run {run.id[:12]} ({escape(run.name)}) ended as {run.status}")
