"""``falaj train``: hyperparameter search, evaluation, fairness audit, explanation, model card.

Data comes from a registered dataset (``--dataset NAME`` or ``NAME@VERSION``) or a CSV/Parquet
file (``--data PATH``). Reports are stored as artifacts and attached to the model version as
evidence; ``--out DIR`` also writes the HTML and JSON files there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from falaj.cli.choices import Task
from falaj.cli.common import console, open_workspace, print_json
from falaj.cli.fail_on import FAIL_ON

if TYPE_CHECKING:
    import pandas as pd

    from falaj.workspace import Workspace

app = typer.Typer(
    help="Training: hyperparameter search, evaluation, fairness audit, explanations, model cards.",
    no_args_is_help=True,
)

_DATA = typer.Option(None, "--data", help="CSV or Parquet file with the rows.")
_DATASET = typer.Option(None, "--dataset", help="Registered dataset NAME or NAME@VERSION.")
_TARGET = typer.Option(..., "--target", help="Name of the label column.")
_OUT = typer.Option(None, "--out", help="Also write the HTML and JSON report into this folder.")
_JSON = typer.Option(False, "--json", help="Print the result as JSON.")
_POSITIVE = typer.Option(
    None,
    "--positive-label",
    help="The label of the positive class as the target column holds it (default: the "
    "model's last class, e.g. 1 or 'yes').",
)
_TRUSTED = typer.Option(
    False, "--trusted", help="Load a model logged with trusted=True (e.g. a LightGBM pipeline)."
)


def _frame(ws: Workspace, data: Path | None, dataset: str | None) -> pd.DataFrame:
    import pandas as pd

    from falaj.errors import InvalidInputError, NotFoundError

    if (data is None) == (dataset is None):
        raise InvalidInputError("give exactly one of --data PATH or --dataset NAME[@VERSION]")
    if dataset is not None:
        name, _, number = dataset.partition("@")
        if number and not number.isdigit():
            raise InvalidInputError(f"--dataset {dataset!r}: expected NAME or NAME@VERSION")
        return ws.datasets.load(name, int(number) if number else None)
    assert data is not None
    if not data.is_file():
        raise NotFoundError(f"--data {data} does not exist or is not a file")
    if data.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(data)
    if data.suffix.lower() in (".csv", ".txt"):
        return pd.read_csv(data)
    raise InvalidInputError(f"--data {data}: expected a .csv or .parquet file")


def _dataset_id(ws: Workspace, dataset: str | None) -> str | None:
    """The version id (``name@3``) --dataset names, so the evidence records which data it was."""
    if dataset is None:
        return None
    name, _, number = dataset.partition("@")
    return str(ws.datasets.get(name, int(number) if number else None).id)


def _label(value: str | None, y: Any) -> Any:
    """--positive-label as the label column holds it (text on the command line, maybe 1 in y)."""
    if value is None:
        return None
    import pandas as pd

    for label in pd.unique(pd.Series(y).dropna()):
        if str(label) == value:
            return label.item() if hasattr(label, "item") else label
    return value


def _columns(ws: Workspace, data: Path | None, dataset: str | None) -> list[str]:
    """The column names of --data or --dataset, read from the schema or header only."""
    from falaj.errors import InvalidInputError, NotFoundError

    if (data is None) == (dataset is None):
        raise InvalidInputError("give exactly one of --data PATH or --dataset NAME[@VERSION]")
    if dataset is not None:
        name, _, number = dataset.partition("@")
        if number and not number.isdigit():
            raise InvalidInputError(f"--dataset {dataset!r}: expected NAME or NAME@VERSION")
        return ws.datasets.get(name, int(number) if number else None).columns
    assert data is not None
    if not data.is_file():
        raise NotFoundError(f"--data {data} does not exist or is not a file")
    if data.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return list(pq.read_schema(data).names)
    if data.suffix.lower() in (".csv", ".txt"):
        import csv

        with data.open(newline="", encoding="utf-8", errors="replace") as fh:
            return next(csv.reader(fh), [])
    raise InvalidInputError(f"--data {data}: expected a .csv or .parquet file")


def _check_columns(columns: list[str], **options: list[str]) -> None:
    """Every column named by an option exists; checked before any data or model is loaded."""
    from falaj.errors import InvalidInputError

    for option, names in options.items():
        for name in names:
            if name not in columns:
                raise InvalidInputError(
                    f"--{option} {name[:100]!r} is not a column of the data "
                    f"(columns: {columns[:50]})"
                )


def _split(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series[Any]]:
    from falaj.errors import InvalidInputError

    if target not in frame.columns:
        raise InvalidInputError(
            f"--target {target!r} is not a column of the data (columns: {list(frame.columns)})"
        )
    return frame.drop(columns=[target]), frame[target]


def _out_folder(out: Path | None) -> None:
    """Create the --out folder before any work, so a bad path fails before evidence is stored."""
    from falaj.errors import InvalidInputError

    if out is None:
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(
            f"--out {out} cannot be used as a report folder: {exc.strerror or exc}"
        ) from exc


def _finish(outcome: Any, out: Path | None, stem: str, as_json: bool) -> None:
    path = outcome.write(out, stem) if out is not None else None
    if as_json:
        print_json(
            {
                "kind": outcome.kind,
                "html_digest": outcome.html_digest,
                "json_digest": outcome.json_digest,
                "path": str(path) if path else None,
                "summary": outcome.evidence.summary,
            }
        )
        return
    console.print(
        f"{outcome.kind} report attached as evidence (artifact sha256:{outcome.html_digest})"
    )
    if path is not None:
        console.print(f"written to {path}")


@app.command("hpo")
def hpo(
    ctx: typer.Context,
    spec_file: Path = typer.Argument(..., help="YAML search spec (see docs/training.md)."),
    as_json: bool = _JSON,
) -> None:
    """Run a hyperparameter search from a YAML spec naming data, family, space and budget."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from falaj.errors import InvalidInputError
    from falaj.training.spec import SearchSpec

    spec, doc = SearchSpec.from_yaml(spec_file)
    target = doc.get("target")
    if not isinstance(target, str):
        raise InvalidInputError(f"search spec {spec_file}: 'target' (the label column) is missing")
    with open_workspace(ctx) as ws:
        dataset = doc.get("dataset")
        data_path = doc.get("data")
        for key, value in (("data", data_path), ("dataset", dataset)):
            if value is not None and not isinstance(value, str):
                raise InvalidInputError(
                    f"search spec {spec_file}: {key}={value!r} is invalid: expected "
                    + ("a CSV/Parquet path" if key == "data" else "NAME or NAME@VERSION")
                )
        if (data_path is None) == (dataset is None):
            raise InvalidInputError(
                f"search spec {spec_file}: give exactly one of 'data' (a CSV/Parquet path) or "
                "'dataset' (NAME or NAME@VERSION)"
            )
        frame = _frame(
            ws,
            (spec_file.parent / data_path) if isinstance(data_path, str) else None,
            str(dataset) if dataset is not None else None,
        )
        X, y = _split(frame, target)
        dataset_version = None
        if dataset is not None:
            name, _, number = str(dataset).partition("@")
            dataset_version = ws.datasets.get(name, int(number) if number else None).id
        total = spec.budget.max_trials
        with Progress(
            TextColumn("trials"), BarColumn(), MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"), TimeElapsedColumn(),
            console=console, transient=True, disable=as_json,
        ) as bar:  # fmt: skip
            task = bar.add_task("hpo", total=total, best="-")

            def progress(done: int, best: float | None) -> None:
                bar.update(task, completed=done, best=f"{best:.4f}" if best is not None else "-")

            result = ws.training.search(
                spec,
                X,
                y,
                experiment=str(doc.get("experiment", "hpo")),
                study_name=doc.get("study_name"),
                dataset_version_id=dataset_version,
                progress=progress,
            )
        out = result.as_dict()
        model_name = doc.get("model_name")
        if model_name and result.model is not None:
            mv = ws.registry.create_version(
                str(model_name), result.model, description=f"best of study {result.study_name}"
            )
            out["registered_version"] = mv.version
    if as_json:
        print_json(out)
        return
    table = Table("field", "value", title=f"study {result.study_name}")
    for key in (
        "stop_reason",
        "trials",
        "cpu_seconds",
        "best_value",
        "best_params",
        "best_run_id",
        "parent_run_id",
        "model_uri",
        "registered_version",
    ):
        if key in out:
            value = out[key]
            table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)


@app.command("evaluate")
def evaluate(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Registered model name."),
    version: int = typer.Argument(..., help="Model version."),
    data: Path | None = _DATA,
    dataset: str | None = _DATASET,
    target: str = _TARGET,
    task: Task = typer.Option(Task.classification, "--task", help="The kind of model."),
    slices: list[str] = typer.Option([], "--slice", help="Column to compute metrics per value."),
    threshold: float = typer.Option(
        0.5, "--threshold", help="Score at which a case is predicted positive (0..1)."
    ),
    positive_label: str | None = _POSITIVE,
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples (0: none)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resampling."),
    trusted: bool = _TRUSTED,
    out: Path | None = _OUT,
    as_json: bool = _JSON,
) -> None:
    """Held-out metrics with bootstrap intervals, attached as 'evaluation' evidence."""
    _out_folder(out)
    with open_workspace(ctx) as ws:
        _check_columns(_columns(ws, data, dataset), target=[target], slice=slices)
        X, y = _split(_frame(ws, data, dataset), target)
        outcome = ws.training.evaluate(
            model,
            version,
            X,
            y,
            task=task.value,
            threshold=threshold,
            positive_label=_label(positive_label, y),
            slices=slices or None,
            n_bootstrap=bootstrap,
            seed=seed,
            trusted=trusted,
            dataset_version_id=_dataset_id(ws, dataset),
        )
    if not as_json:
        r = outcome.result
        p = outcome.provenance
        where = p.dataset_id or f"--data {data}"
        kind = (
            f"[red]IN-SAMPLE[/] ({p.reason}; does not count for the gates)"
            if p.in_sample
            else "held out"
        )
        table = Table(
            "metric",
            "value",
            f"{r.confidence:.0%} interval",
            title=f"{model} v{version}: {r.n_samples} rows of {where}, {kind}",
        )
        for name, value in r.metrics.items():
            lo, hi = r.intervals.get(name, (float("nan"), float("nan")))
            table.add_row(name, f"{value:.4f}", f"[{lo:.4f}, {hi:.4f}]")
        console.print(table)
    _finish(outcome, out, f"{model}-v{version}-evaluation", as_json)


@app.command("fairness")
def fairness(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Registered model name."),
    version: int = typer.Argument(..., help="Model version."),
    data: Path | None = _DATA,
    dataset: str | None = _DATASET,
    target: str = _TARGET,
    sensitive: list[str] = typer.Option(..., "--sensitive", help="Sensitive column (repeat)."),
    policy: Path | None = typer.Option(
        None, "--policy", help="YAML policy: min_group_size and thresholds with justification."
    ),
    min_group_size: int | None = typer.Option(
        None, "--min-group-size", help="Smallest trusted group (required without --policy)."
    ),
    intersections: bool = typer.Option(
        False, "--intersections", help="Also audit the combination of all sensitive columns."
    ),
    threshold: float = typer.Option(0.5, "--threshold", help="Score at which a case is positive."),
    positive_label: str | None = _POSITIVE,
    bootstrap: int = typer.Option(500, "--bootstrap", help="Bootstrap resamples per group."),
    trusted: bool = _TRUSTED,
    out: Path | None = _OUT,
    fail_on: str = FAIL_ON,
    as_json: bool = _JSON,
) -> None:
    """Fairness audit; verdict only under a --policy (no hidden thresholds).

    Exits 8 when the verdict is FAILED (--fail-on alert, the default); --fail-on warning also
    when a group is below min_group_size (unreliable); --fail-on never always exits 0.
    """
    from falaj.cli.fail_on import check_fail_on, exit_for
    from falaj.errors import InvalidInputError, NotFoundError
    from falaj.yamlsafe import load_yaml, read_yaml_file

    check_fail_on(fail_on)

    policy_doc = None
    if policy is not None:
        if not policy.is_file():
            raise NotFoundError(f"--policy {policy} does not exist or is not a file")
        label = f"--policy {policy}"
        try:
            text = read_yaml_file(policy, source=label, error=InvalidInputError)
        except FileNotFoundError:
            raise NotFoundError(f"--policy {policy} does not exist or is not a file") from None
        policy_doc = load_yaml(text, source=label, error=InvalidInputError)
        if policy_doc is None:
            raise InvalidInputError(
                f"--policy {policy} is empty: expected min_group_size and thresholds"
            )
    _out_folder(out)
    with open_workspace(ctx) as ws:
        _check_columns(_columns(ws, data, dataset), target=[target], sensitive=sensitive)
        X, y = _split(_frame(ws, data, dataset), target)
        outcome = ws.training.audit_fairness(
            model,
            version,
            X,
            y,
            sensitive_features=sensitive,
            policy=policy_doc,
            min_group_size=min_group_size,
            intersections=intersections,
            threshold=threshold,
            positive_label=_label(positive_label, y),
            n_bootstrap=bootstrap,
            trusted=trusted,
        )
    if not as_json:
        r = outcome.result
        verdict = {True: "[green]PASSED[/]", False: "[red]FAILED[/]", None: "no verdict"}
        table = Table(
            "features",
            "parity diff",
            "parity ratio",
            "equalized odds",
            "checks",
            title=f"fairness of {model} v{version}: {verdict[r.passed]}",
        )
        for audit in r.audits:
            d = audit.disparities
            checks = ", ".join(
                f"{c.threshold.metric} {'ok' if c.passed else 'FAIL'}" for c in audit.checks
            )
            table.add_row(
                audit.name,
                f"{d['demographic_parity_difference']:.4f}",
                f"{d['demographic_parity_ratio']:.4f}",
                f"{d['equalized_odds_difference']:.4f}",
                checks or "-",
            )
        console.print(table)
        if r.unreliable_groups:
            console.print(f"unreliable groups: {', '.join(r.unreliable_groups)}")
    _finish(outcome, out, f"{model}-v{version}-fairness", as_json)
    result = outcome.result
    exit_for(
        fail_on,
        alerts=int(result.passed is False),
        warnings=len(result.unreliable_groups),
    )


@app.command("explain")
def explain(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Registered model name."),
    version: int = typer.Argument(..., help="Model version."),
    data: Path | None = _DATA,
    dataset: str | None = _DATASET,
    target: str | None = typer.Option(None, "--target", help="Label column to drop, if present."),
    max_rows: int = typer.Option(500, "--max-rows", help="Rows explained (a seeded sample)."),
    sample_budget: int = typer.Option(
        200, "--sample-budget", help="Model evaluations per row (permutation method)."
    ),
    trusted: bool = _TRUSTED,
    out: Path | None = _OUT,
    as_json: bool = _JSON,
) -> None:
    """SHAP explanation (global importance, effects), attached as 'explanation' evidence."""
    _out_folder(out)
    with open_workspace(ctx) as ws:
        frame = _frame(ws, data, dataset)
        X = _split(frame, target)[0] if target else frame
        outcome = ws.training.explain(
            model, version, X, max_rows=max_rows, sample_budget=sample_budget, trusted=trusted
        )
    if not as_json:
        e = outcome.result
        table = Table(
            "feature",
            "mean |contribution|",
            "effect",
            title=f"{model} v{version}: {e.method} SHAP ({e.output})",
        )
        for effect in e.effects:
            table.add_row(
                effect.feature,
                f"{effect.mean_abs:.4f}",
                effect.direction if effect.kind == "numeric" else "by category (see report)",
            )
        console.print(table)
    _finish(outcome, out, f"{model}-v{version}-explanation", as_json)


@app.command("card")
def card(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Registered model name."),
    version: int = typer.Argument(..., help="Model version."),
    intended_use: str | None = typer.Option(
        None, "--intended-use", help="What the model is for (else 'not recorded')."
    ),
    out_of_scope: list[str] = typer.Option([], "--out-of-scope", help="Out-of-scope use (repeat)."),
    limitations: list[str] = typer.Option([], "--limitation", help="Known limitation (repeat)."),
    out: Path | None = _OUT,
    as_json: bool = _JSON,
) -> None:
    """Model card (Markdown + HTML) from evidence, lineage and approvals; 'model_card' evidence."""
    _out_folder(out)
    with open_workspace(ctx) as ws:
        outcome = ws.training.model_card(
            model,
            version,
            intended_use=intended_use,
            out_of_scope=out_of_scope,
            limitations=limitations,
        )
    if out is not None:
        (out / f"{model}-v{version}-model_card.md").write_text(
            outcome.data["markdown"], encoding="utf-8"
        )
    if not as_json:
        console.print(outcome.data["markdown"], highlight=False, markup=False)
    _finish(outcome, out, f"{model}-v{version}-model_card", as_json)
