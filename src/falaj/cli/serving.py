"""``falaj serve``, ``falaj deploy``, ``falaj rollout``, ``falaj predict``, ``falaj build``:
serving models and delivering them progressively."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from falaj.cli.common import console, open_workspace, print_json, state

if TYPE_CHECKING:
    from falaj.serving.models import Deployment, Rollout

deploy_app = typer.Typer(
    help="Deployments: revisions pinned to model digests, weighted, sticky and shadow traffic.",
    no_args_is_help=True,
)
rollout_app = typer.Typer(
    help="Progressive canary rollouts: start, status, pause, resume, promote, rollback, watch.",
    no_args_is_help=True,
)

_JSON = typer.Option(False, "--json", help="Machine-readable output.")


def serve(
    ctx: typer.Context,
    model: str | None = typer.Argument(
        None, help="NAME@ALIAS or NAME/VERSION to serve (or use --deployment)."
    ),
    deployment: str | None = typer.Option(
        None, "--deployment", "-d", help="Serve a deployment (its revisions and traffic split)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", help="uvicorn worker processes."),
    trusted: bool = typer.Option(
        False, "--trusted", help="Allow models whose format runs code when loaded (pickle)."
    ),
    max_body_mb: float = typer.Option(
        8.0, "--max-body-mb", help="Largest request body accepted (MiB); larger ones get 413."
    ),
    poll_interval: float = typer.Option(
        2.0, "--poll-interval", help="Seconds between checks of the deployment for changes."
    ),
    report_interval: float = typer.Option(
        5.0, "--report-interval", help="Seconds between request aggregates written to the store."
    ),
    explain_background: str | None = typer.Option(
        None,
        "--explain-background",
        help="Enable /explain with this dataset (NAME or NAME@VERSION) as SHAP background.",
    ),
    features: str | None = typer.Option(
        None,
        "--features",
        help="A feature service: requests may send its entity keys (e.g. customer_id) and "
        "the features are looked up in the online store.",
    ),
) -> None:
    """Serve a model or a deployment over the Open Inference Protocol v2 (and /predict)."""
    from falaj.serving.server import ServeSpec
    from falaj.serving.server import serve as run

    st = state(ctx)
    spec = ServeSpec(
        home=str(Path(st.home).expanduser().absolute()) if st.home else None,
        config_file=str(st.config) if st.config else None,
        model=model,
        deployment=deployment,
        trusted=trusted,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        poll_interval_s=poll_interval,
        report_interval_s=report_interval,
        explain_background=explain_background,
        features=features,
    )
    with open_workspace(ctx) as ws:  # fail fast on a wrong name, before starting workers
        if features is not None:
            ws.features.lookup(features)
        if deployment is not None:
            ws.serving.get_deployment(deployment)
        else:
            from falaj.serving.refs import parse_model_ref

            ws.registry.get_version(*parse_model_ref(model or ""))
    console.print(
        f"serving {escape(deployment or model or '')} on http://{host}:{port} "
        f"({workers} worker{'s' if workers > 1 else ''})",
        highlight=False,
    )
    run(spec, "falaj.cli.serve_worker:app_from_env", host=host, port=port, workers=workers)


def _show_deployment(dep: Deployment) -> None:
    console.print(
        f"[bold]{escape(dep.name)}[/] model {escape(dep.model_name)} · generation "
        f"{dep.generation} · routing key {escape(dep.routing_key or '-')}",
        highlight=False,
    )
    table = Table("revision", "model", "role", "weight %", "shadow", "digest", "created by")
    for r in dep.revisions:
        table.add_row(
            r.id[:12],
            r.label,
            r.role,
            f"{r.weight:g}",
            f"{r.shadow_fraction:g}" if r.role == "shadow" else "",
            r.artifact_digest[:16],
            r.created_by,
        )
    console.print(table)


@deploy_app.command("create")
def deploy_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name (lowercase, digits, '-')."),
    model: str = typer.Option(..., "--model", "-m", help="NAME@ALIAS or NAME/VERSION to serve."),
    routing_key: str | None = typer.Option(
        None,
        "--routing-key",
        help="Sticky A/B key: 'header:NAME' or 'field:NAME' (same key → same revision).",
    ),
    description: str | None = typer.Option(None, "--description", help="What it serves."),
    region: str | None = typer.Option(
        None,
        "--region",
        help="Where it will run (default: the workspace's region); checked against the "
        "residency policy of the model's training data.",
    ),
    as_json: bool = _JSON,
) -> None:
    """Create a deployment serving one model version (pinned to its digest) at 100 %."""
    with open_workspace(ctx) as ws:
        dep = ws.serving.create_deployment(
            name, model, routing_key=routing_key, description=description, region=region
        )
    if as_json:
        print_json(dep.to_dict())
        return
    _show_deployment(dep)


@deploy_app.command("list")
def deploy_list(ctx: typer.Context, as_json: bool = _JSON) -> None:
    """List deployments with their revisions and weights."""
    with open_workspace(ctx) as ws:
        deps = ws.serving.list_deployments()
    if as_json:
        print_json([d.to_dict() for d in deps])
        return
    table = Table("deployment", "model", "revisions", "generation", "updated (UTC)")
    for d in deps:
        revs = ", ".join(f"{r.label}:{r.weight:g}%" for r in d.serving)
        revs += "".join(f", {r.label}:shadow {r.shadow_fraction:g}" for r in d.shadows)
        table.add_row(
            d.name, d.model_name, revs, str(d.generation), d.updated_at.strftime("%Y-%m-%d %H:%M")
        )
    console.print(table)


@deploy_app.command("show")
def deploy_show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    as_json: bool = _JSON,
) -> None:
    """Show a deployment's revisions, weights and shadows."""
    with open_workspace(ctx) as ws:
        dep = ws.serving.get_deployment(name)
    if as_json:
        print_json(dep.to_dict())
        return
    _show_deployment(dep)


@deploy_app.command("update")
def deploy_update(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    add: str | None = typer.Option(
        None, "--add", help="Add a revision serving NAME@ALIAS or NAME/VERSION."
    ),
    weight: float = typer.Option(
        0.0, "--weight", help="Traffic weight (percent) of the added revision."
    ),
    shadow: float = typer.Option(
        0.0, "--shadow", help="Make the added revision a shadow receiving this fraction (0-1)."
    ),
    set_weight: list[str] = typer.Option(
        [], "--set-weight", help="REVISION=PERCENT for an existing revision (repeatable)."
    ),
    retire: str | None = typer.Option(None, "--retire", help="Take a revision out (id prefix)."),
    as_json: bool = _JSON,
) -> None:
    """Add a revision (weighted, A/B or shadow), move weights, or retire a revision."""
    from falaj.errors import InvalidInputError

    weights: dict[str, float] = {}
    for item in set_weight:
        rev, sep, value = item.partition("=")
        try:
            weights[rev.strip()] = float(value)
        except ValueError:
            raise InvalidInputError(
                f"--set-weight {item!r} is invalid: expected REVISION=PERCENT"
            ) from None
        if not sep:
            raise InvalidInputError(f"--set-weight {item!r} is invalid: expected REVISION=PERCENT")
    if add is None and not weights and retire is None:
        raise InvalidInputError("nothing to update: give --add, --set-weight or --retire")
    with open_workspace(ctx) as ws:
        if add is not None:
            ws.serving.add_revision(name, add, weight=weight, shadow_fraction=shadow)
        if weights:
            ws.serving.set_traffic(name, weights)
        if retire is not None:
            ws.serving.retire_revision(name, retire)
        dep = ws.serving.get_deployment(name)
    if as_json:
        print_json(dep.to_dict())
        return
    _show_deployment(dep)


def _show_rollout(ro: Rollout) -> None:
    steps = " → ".join(
        f"[bold]{s:g}%[/]" if i == ro.step_index else f"{s:g}%" for i, s in enumerate(ro.steps)
    )
    console.print(
        f"rollout {ro.id[:12]} of {escape(ro.deployment)}: [bold]{ro.state}[/] · canary "
        f"{ro.canary_revision[:12]} vs stable {ro.stable_revision[:12]} · {steps}",
        highlight=False,
    )
    table = Table("at (UTC)", "decision", "by", "reason")
    for d in ro.decisions:
        table.add_row(d.at.strftime("%H:%M:%S"), d.decision, d.decided_by, escape(d.reason))
    console.print(table)


@rollout_app.command("start")
def rollout_start(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    model: str = typer.Option(..., "--model", "-m", help="Canary: NAME@ALIAS or NAME/VERSION."),
    steps: str = typer.Option("5,25,50,100", "--steps", help="Canary percentages per step."),
    window: float = typer.Option(300.0, "--window", help="Analysis window per step (seconds)."),
    min_requests: int = typer.Option(
        100, "--min-requests", help="Canary requests needed before a step is judged."
    ),
    max_error_rate: float = typer.Option(0.01, "--max-error-rate", help="Error rate limit."),
    max_p99_ratio: float = typer.Option(
        1.5, "--max-p99-ratio", help="Canary p99 latency limit, as a multiple of the stable's."
    ),
    max_psi: float = typer.Option(
        0.2, "--max-psi", help="Prediction shift limit (PSI of canary against stable)."
    ),
    as_json: bool = _JSON,
) -> None:
    """Start a progressive canary of a model version against the stable revision."""
    from falaj.serving.rollout import RolloutPolicy

    policy = RolloutPolicy(
        window_s=window,
        min_requests=min_requests,
        max_error_rate=max_error_rate,
        max_p99_ratio=max_p99_ratio,
        max_psi=max_psi,
    )
    with open_workspace(ctx) as ws:
        ro = ws.serving.start_rollout(name, model, steps=steps, policy=policy)
    if as_json:
        print_json(ro.to_dict())
        return
    _show_rollout(ro)


@rollout_app.command("status")
def rollout_status(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    as_json: bool = _JSON,
) -> None:
    """The rollout's state, its step and every decision with its reason."""
    with open_workspace(ctx) as ws:
        ro = ws.serving.get_rollout(name)
    if as_json:
        print_json(ro.to_dict())
        return
    _show_rollout(ro)


def _manual(ctx: typer.Context, name: str, verb: str, reason: str | None, as_json: bool) -> None:
    with open_workspace(ctx) as ws:
        method = getattr(ws.serving, verb)
        ro = method(name, reason=reason) if reason else method(name)
    if as_json:
        print_json(ro.to_dict())
        return
    _show_rollout(ro)


_REASON = typer.Option(None, "--reason", help="Why (recorded in the audit trail).")


@rollout_app.command("pause")
def rollout_pause(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    reason: str | None = _REASON,
    as_json: bool = _JSON,
) -> None:
    """Pause the rollout: weights stay as they are, the controller stops judging."""
    _manual(ctx, name, "pause", reason, as_json)


@rollout_app.command("resume")
def rollout_resume(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    reason: str | None = _REASON,
    as_json: bool = _JSON,
) -> None:
    """Resume a paused rollout (its analysis window starts again)."""
    _manual(ctx, name, "resume", reason, as_json)


@rollout_app.command("promote")
def rollout_promote(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    reason: str | None = _REASON,
    as_json: bool = _JSON,
) -> None:
    """Promote the canary to 100 % now and retire the stable revision."""
    _manual(ctx, name, "promote", reason, as_json)


@rollout_app.command("rollback")
def rollout_rollback(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    reason: str | None = _REASON,
    as_json: bool = _JSON,
) -> None:
    """Roll back now: the stable revision takes 100 % again, the canary is retired."""
    _manual(ctx, name, "rollback", reason, as_json)


@rollout_app.command("watch")
def rollout_watch(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    interval: float = typer.Option(10.0, "--interval", help="Seconds between judgments."),
    once: bool = typer.Option(False, "--once", help="Judge once and exit."),
    as_json: bool = _JSON,
) -> None:
    """Run the rollout controller: judge the canary on the replicas' aggregates, advance,
    promote or roll back automatically, until the rollout ends."""
    from falaj.serving.controller import RolloutController

    with open_workspace(ctx) as ws:
        controller = RolloutController(ws.serving, accuracy=ws.rollout_accuracy())
        while True:
            decision = controller.tick(name)
            if decision is None:
                break
            if as_json:
                print_json(decision.to_dict())
            else:
                console.print(f"{decision.action}: {escape(decision.reason)}", highlight=False)
            if once or decision.action in ("promote", "rollback"):
                break
            time.sleep(interval)
        ro = ws.serving.get_rollout(name)
    if not as_json:
        _show_rollout(ro)


def predict(
    ctx: typer.Context,
    deployment: str = typer.Option(..., "--deployment", "-d", help="Deployment to score with."),
    input_path: Path = typer.Option(..., "--input", "-i", help="Parquet file to score."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the scored Parquet."),
    chunk_rows: int = typer.Option(50_000, "--chunk-rows", help="Rows scored per chunk."),
    trusted: bool = typer.Option(
        False, "--trusted", help="Allow models whose format runs code when loaded (pickle)."
    ),
    as_json: bool = _JSON,
) -> None:
    """Batch scoring: a Parquet file through a deployment's stable revision, in chunks."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from falaj.serving.batch import score_parquet

    with (
        open_workspace(ctx) as ws,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=as_json,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("scoring", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = score_parquet(
            ws.serving,
            deployment,
            input_path,
            output,
            chunk_rows=chunk_rows,
            trusted=trusted,
            progress=progress,
        )
    summary: dict[str, Any] = {
        "rows": result.rows,
        "chunks": result.chunks,
        "model": result.model,
        "revision": result.revision,
        "output": str(result.output),
    }
    if as_json:
        print_json(summary)
        return
    console.print(
        f"scored {result.rows} rows in {result.chunks} chunk(s) with {result.model} → "
        f"{escape(str(result.output))}",
        highlight=False,
    )


def build(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment to package."),
    out: Path = typer.Option(Path("build/serving"), "--out", help="Folder to write into."),
    image: str | None = typer.Option(None, "--image", help="Image tag used by the manifests."),
    replicas: int = typer.Option(2, "--replicas", help="Minimum replicas (HPA floor)."),
    max_replicas: int = typer.Option(10, "--max-replicas", help="HPA ceiling."),
    workers: int = typer.Option(1, "--workers", help="uvicorn workers per container."),
    as_json: bool = _JSON,
) -> None:
    """Write a Dockerfile, Kubernetes manifests (CPU and GPU profiles) and a Knative Service."""
    from falaj.serving.packaging import build_bundle

    with open_workspace(ctx) as ws:
        ws.serving.get_deployment(name)
    result = build_bundle(
        name, out, image=image, replicas=replicas, max_replicas=max_replicas, workers=workers
    )
    if as_json:
        print_json({"out": str(result.out), "files": [str(f) for f in result.files]})
        return
    for path in result.files:
        console.print(f"wrote {escape(str(path))}", highlight=False)
