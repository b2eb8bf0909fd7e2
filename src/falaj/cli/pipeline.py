"""``falaj pipeline``, ``falaj step run`` and ``falaj scheduler``: parse → call → render."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from falaj.cli.choices import Executor, ExportTarget, RunStatus
from falaj.cli.common import console, err_console, open_workspace, print_json, state

if TYPE_CHECKING:
    from falaj.pipelines.records import PipelineRun, StepRun
    from falaj.pipelines.runner import StepEvent

app = typer.Typer(help="Run, inspect, resume, schedule and export pipelines.", no_args_is_help=True)
step_app = typer.Typer(
    help="Run one step of a pipeline run (used by orchestrators).", no_args_is_help=True
)

_PARAM_HELP = "Pipeline parameter KEY=VALUE (VALUE parsed as JSON when it is valid JSON)."


def _importable_cwd() -> None:
    """Like ``python -m``: modules in the current folder can be named as ``module:attr``."""
    import sys

    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)


def parse_params(items: list[str] | None) -> dict[str, Any]:
    from falaj.errors import InvalidInputError

    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--param {item!r} is invalid; expected KEY=VALUE")
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw
    return params


def _executor(name: Executor, workers: int) -> Any:
    if name == Executor.ray:
        return "ray"
    from falaj.pipelines.executors.local import LocalExecutor

    return LocalExecutor(max_workers=workers, processes=name == Executor.processes)


class _ProgressView:
    """A rich progress line per step: spinner while running, then its outcome and cache key."""

    _MARKS = {
        "succeeded": "[green]✓ done[/]",
        "cached": "[cyan]↺ cached[/]",
        "failed": "[red]✗ failed[/]",
    }

    def __init__(self) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        )
        self.tasks: dict[str, Any] = {}
        self.started = False

    def __call__(self, event: StepEvent) -> None:
        if not self.started:  # started on the first step, so an early error prints no blank line
            self.progress.start()
            self.started = True
        key = event.cache_key[:12]
        label = f"[bold]{event.step}[/]"
        if event.step not in self.tasks:
            self.tasks[event.step] = self.progress.add_task(label, total=1)
        task = self.tasks[event.step]
        if event.kind == "started":
            attempt = f" (attempt {event.attempt})" if event.attempt > 1 else ""
            self.progress.update(task, description=f"{label} running{attempt}  key {key}")
        elif event.kind == "retrying":
            self.progress.update(
                task, description=f"{label} [yellow]retrying[/] after: {event.error}"
            )
        else:
            detail = f"  [red]{event.error}[/]" if event.error else ""
            seconds = f"{event.duration_s:.2f} s" if event.duration_s is not None else ""
            self.progress.update(
                task,
                completed=1,
                description=f"{label} {self._MARKS[event.kind]} {seconds}  key {key}{detail}",
            )

    def __enter__(self) -> _ProgressView:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            self.progress.stop()


def _steps_table(steps: list[StepRun]) -> Table:
    table = Table("step", "status", "attempts", "seconds", "cache key", "step run", "outputs")
    colors = {"SUCCEEDED": "green", "CACHED": "cyan", "FAILED": "red"}
    for st in steps:
        color = colors.get(st.status, "white")
        outputs = ", ".join(f"{n}={o.digest[:10]}" for n, o in st.outputs.items())
        table.add_row(
            st.step,
            f"[{color}]{st.status}[/]",
            str(st.attempts),
            f"{st.duration_s:.3f}",
            st.cache_key[:12],
            st.id[:12],
            outputs,
        )
    return table


def _run_json(run: PipelineRun) -> dict[str, Any]:
    data = {k: v for k, v in vars(run).items() if k != "steps"}
    data["steps"] = [
        {
            **{k: v for k, v in vars(s).items() if k != "outputs"},
            "outputs": {n: vars(o) for n, o in s.outputs.items()},
        }
        for s in run.steps
    ]
    return data


def _print_run(run: PipelineRun) -> None:
    color = {"SUCCEEDED": "green", "FAILED": "red"}.get(run.status, "yellow")
    duration = f" in {run.duration_s:.2f} s" if run.duration_s is not None else ""
    console.print(
        f"pipeline [bold]{run.pipeline}[/] run {run.id}: [{color}]{run.status}[/]{duration}",
        highlight=False,
    )
    console.print(_steps_table(run.steps))
    if run.error:
        console.print(f"[red]{run.error}[/]", highlight=False)


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="YAML spec path or module:attr of a @pipeline."),
    param: list[str] = typer.Option(None, "--param", "-p", help=_PARAM_HELP),
    no_cache: bool = typer.Option(False, "--no-cache", help="Run every step, ignore the cache."),
    executor: Executor = typer.Option(Executor.local, help="Where the steps run."),
    workers: int = typer.Option(4, min=1, help="Parallel steps for the local executors."),
    as_json: bool = typer.Option(False, "--json", help="Print the finished run as JSON."),
) -> None:
    """Run a pipeline; each step's cache key is shown, cached steps are skipped."""
    _importable_cwd()
    from falaj.pipelines.errors import StepFailedError

    with open_workspace(ctx) as ws:
        view = _ProgressView()
        try:
            with view:
                run = ws.pipelines.run(
                    source,
                    params=parse_params(param),
                    executor=_executor(executor, workers),
                    use_cache=not no_cache,
                    on_event=view,
                )
        except StepFailedError as exc:
            _print_run(ws.pipelines.get_run(exc.run_id))
            raise
    if as_json:
        print_json(_run_json(run))
    else:
        _print_run(run)


@app.command("resume")
def resume_cmd(
    ctx: typer.Context,
    run_id: str = typer.Argument(
        ..., help="The FAILED pipeline run to resume (id or unique prefix)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Run every step, ignore the cache."),
    executor: Executor = typer.Option(Executor.local, help="Where the steps run."),
    workers: int = typer.Option(4, min=1, help="Parallel steps for the local executors."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Also resume a run left RUNNING by a process that died (refused while it lives).",
    ),
) -> None:
    """Resume a failed run from its failed step, reusing the steps that succeeded."""
    _importable_cwd()
    from falaj.pipelines.errors import StepFailedError

    with open_workspace(ctx) as ws:
        view = _ProgressView()
        try:
            with view:
                run = ws.pipelines.resume(
                    run_id,
                    executor=_executor(executor, workers),
                    use_cache=not no_cache,
                    on_event=view,
                    force=force,
                )
        except StepFailedError as exc:
            _print_run(ws.pipelines.get_run(exc.run_id))
            raise
    _print_run(run)


@app.command("list-runs")
def runs_cmd(
    ctx: typer.Context,
    pipeline: str | None = typer.Option(None, help="Only runs of this pipeline."),
    status: RunStatus | None = typer.Option(None, help="Only runs in this status."),
    limit: int = typer.Option(20, min=1, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List pipeline runs, newest first."""
    with open_workspace(ctx) as ws:
        runs = ws.pipelines.list_runs(
            pipeline=pipeline, status=status.value if status else None, limit=limit
        )
    if as_json:
        print_json([_run_json(r) for r in runs])
        return
    table = Table("run", "pipeline", "status", "started", "seconds", "by", "executor")
    for r in runs:
        table.add_row(
            r.id,
            r.pipeline,
            r.status,
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{r.duration_s:.2f}" if r.duration_s is not None else "",
            r.created_by,
            r.executor,
        )
    console.print(table)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., help="Pipeline run id (or a unique prefix of it)."),
    logs: str | None = typer.Option(None, "--logs", help="Print the logs of this step."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show a pipeline run: its steps, their cache keys and outputs (or one step's logs)."""
    from falaj.pipelines.errors import StepNotFoundError

    with open_workspace(ctx) as ws:
        run = ws.pipelines.get_run(run_id)
        if logs is not None:
            step_run = run.latest(logs)
            if step_run is None:
                raise StepNotFoundError(f"pipeline run {run_id} has no step run {logs!r}")
            if step_run.cached_from:
                err_console.print(
                    f"step {logs!r} was served from cache; logs of step run {step_run.cached_from}",
                    highlight=False,
                )
            typer.echo(ws.pipelines.logs(step_run.id), nl=False)
            return
    if as_json:
        print_json(_run_json(run))
    else:
        _print_run(run)


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="YAML spec path or module:attr of a @pipeline."),
    to: ExportTarget = typer.Option(..., "--to", help="The orchestrator to export to."),
    output: Path = typer.Option(..., "--output", "-o", help="File to write."),
    param: list[str] = typer.Option(None, "--param", "-p", help=_PARAM_HELP),
    image: str = typer.Option("falaj:latest", help="Container image (kubeflow)."),
    dag_id: str | None = typer.Option(None, help="DAG id (airflow)."),
    schedule: str | None = typer.Option(None, help="Cron schedule of the DAG (airflow)."),
    workspace_home: str | None = typer.Option(
        None, help="--home the workers pass to falaj (default: their FALAJ_HOME)."
    ),
) -> None:
    """Export a pipeline as an Airflow DAG file or a Kubeflow Pipelines spec."""
    _importable_cwd()
    from falaj.config import Settings
    from falaj.errors import InvalidInputError
    from falaj.pipelines.spec import load_pipeline

    st = state(ctx)
    overrides: dict[str, Any] = {} if st.home is None else {"home": st.home}
    modules = Settings.load(config_file=st.config, **overrides).step_modules
    pipe = load_pipeline(source, parse_params(param), allowed_modules=modules)
    if to == ExportTarget.airflow:
        from falaj.pipelines.exporters.airflow import export_airflow

        text = export_airflow(pipe, dag_id=dag_id, schedule=schedule, home=workspace_home)
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(
                f"--output {str(output)!r} cannot be written: {exc.strerror or exc}"
            ) from exc
    else:
        from falaj.pipelines.exporters.kubeflow import export_kubeflow

        export_kubeflow(pipe, output, image=image, home=workspace_home)
    console.print(f"wrote {to} export of {pipe.name!r} ({len(pipe.order)} steps) to {output}")


@app.command("schedule")
def schedule_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Schedule name."),
    source: str = typer.Argument(..., help="YAML spec path or module:attr of a @pipeline."),
    cron: str = typer.Option(..., "--cron", help="Cron expression (UTC), e.g. '0 * * * *'."),
    param: list[str] = typer.Option(None, "--param", "-p", help=_PARAM_HELP),
) -> None:
    """Schedule a pipeline on a cron expression; `falaj scheduler` runs it when due."""
    _importable_cwd()
    with open_workspace(ctx) as ws:
        sched = ws.pipelines.schedules.create(name, source, cron, params=parse_params(param))
    console.print(f"schedule {sched.name!r}: {sched.source} at '{sched.cron}' (UTC)")


@app.command("list-schedules")
def schedules_cmd(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List schedules."""
    with open_workspace(ctx) as ws:
        items = ws.pipelines.schedules.list()
    if as_json:
        print_json([vars(s) for s in items])
        return
    table = Table("name", "cron", "source", "params", "enabled")
    for s in items:
        table.add_row(s.name, s.cron, s.source, json.dumps(s.params), str(s.enabled))
    console.print(table)


@step_app.command("run")
def step_run_cmd(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="YAML spec path or module:attr of a @pipeline."),
    step: str = typer.Argument(..., help="The step to run."),
    run_key: str = typer.Option(..., "--run-key", help="Identifies the pipeline run."),
    param: list[str] = typer.Option(None, "--param", "-p", help=_PARAM_HELP),
    no_cache: bool = typer.Option(False, "--no-cache", help="Run every step, ignore the cache."),
) -> None:
    """Run one step; inputs come from the store (upstream steps ran under the same key)."""
    _importable_cwd()
    with open_workspace(ctx) as ws:
        st = ws.pipelines.run_step(
            source, step, run_key=run_key, params=parse_params(param), use_cache=not no_cache
        )
    console.print(
        f"step {st.step}: {st.status} (step run {st.id}, pipeline run {st.pipeline_run_id}, "
        f"key {st.cache_key[:12]})",
        highlight=False,
    )


def _parse_time(option: str, text: str) -> dt.datetime:
    from falaj.errors import InvalidInputError

    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"{option} {text[:60]!r} is invalid; expected an ISO time like 2026-12-01T03:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def scheduler_cmd(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Run the due slots once and exit."),
    interval: float = typer.Option(30.0, min=0.1, help="Seconds between checks (loop mode)."),
    now: str | None = typer.Option(
        None,
        "--now",
        help="With --once: run the slots due at this ISO time (UTC if no zone) instead of now, "
        "e.g. to catch up after an outage.",
    ),
) -> None:
    """Run due scheduled pipelines; safe to run several schedulers at once."""
    _importable_cwd()
    import threading

    from falaj.errors import InvalidInputError
    from falaj.pipelines.schedules import Claim

    def show(claim: Claim) -> None:
        slot = claim.scheduled_for.isoformat()
        if not claim.won:
            console.print(f"{claim.schedule} @ {slot}: taken by another scheduler")
            return
        console.print(
            f"{claim.schedule} @ {slot}: {claim.status} (pipeline run {claim.pipeline_run_id})"
            + (f" {claim.error}" if claim.error else ""),
            highlight=False,
        )

    moment = None
    if now is not None:
        if not once:
            raise InvalidInputError("--now needs --once (a looping scheduler follows the clock)")
        moment = _parse_time("--now", now)
    with open_workspace(ctx) as ws:
        if once:
            claims = ws.pipelines.schedules.tick(moment, on_claim=show)
            console.print(f"{sum(c.won for c in claims)} slot(s) run, {len(claims)} due")
            return
        stop = threading.Event()
        console.print(f"scheduler checking every {interval:g} s (Ctrl-C to stop)")
        try:
            ws.pipelines.schedules.loop(interval=interval, stop=stop, on_claim=show)
        except KeyboardInterrupt:
            stop.set()


# The spellings of the previous release, hidden, kept for one release.
app.command("runs", hidden=True, help="Old spelling of list-runs.")(runs_cmd)
app.command("schedules", hidden=True, help="Old spelling of list-schedules.")(schedules_cmd)
