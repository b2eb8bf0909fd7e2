"""``falaj data``: register, list, show, profile, validate, diff and check dataset versions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from falaj.cli.choices import Policy
from falaj.cli.common import console, err_console, open_workspace, print_json
from falaj.cli.fail_on import FAIL_ON

if TYPE_CHECKING:
    from falaj.data.profile import Profile
    from falaj.data.validate import ValidationResult
    from falaj.data.versions import DatasetVersion

app = typer.Typer(help="Datasets: versions, profiles, validation, anomalies.", no_args_is_help=True)


def _parse_pairs(values: list[str], option: str) -> dict[str, list[str]]:
    from falaj.errors import InvalidInputError

    out: dict[str, list[str]] = {}
    for item in values:
        column, sep, labels = item.partition("=")
        if not sep or not column or not labels:
            raise InvalidInputError(
                f"{option} {item!r} is invalid: expected COLUMN=VALUE[,VALUE...] "
                "(e.g. age=sensitive)"
            )
        out.setdefault(column.strip(), []).extend(v.strip() for v in labels.split(",") if v)
    return out


@app.command("register")
def register(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Dataset name."),
    source: str | None = typer.Argument(
        None, help="File path or URI (.csv, .tsv, .parquet; s3://... works)."
    ),
    sql: str | None = typer.Option(None, "--sql", help="SQL query (with --url) instead of a file."),
    url: str | None = typer.Option(None, "--url", help="SQLAlchemy URL for --sql."),
    classify: list[str] = typer.Option(
        [], "--classify", help="COLUMN=LABEL[,LABEL] (e.g. age=sensitive); repeatable."
    ),
    column_type: list[str] = typer.Option(
        [], "--column-type", help="CSV: COLUMN=ARROW_TYPE (e.g. zip=string); repeatable."
    ),
    description: str | None = typer.Option(None, help="What this version is."),
    encoding: str | None = typer.Option(
        None, "--encoding", help="CSV: the file's text encoding (default utf-8; e.g. latin-1)."
    ),
    require_rows: bool = typer.Option(
        False, "--require-rows", help="Refuse a source without rows (e.g. a header-only CSV)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Store a file, URI or query result as a dataset version (same content: same version).

    Warns when the source has no rows, and when a column's type differs from the previous
    version's (naming the values that are not of the old type).
    """
    import dataclasses
    import warnings

    from falaj.data.errors import DataWarning
    from falaj.data.sources import CsvSource, SqlSource, source_from_uri
    from falaj.errors import InvalidInputError

    if (source is None) == (sql is None):
        raise InvalidInputError("give either a SOURCE path/URI or --sql QUERY --url URL")
    if sql is not None:
        if not url:
            raise InvalidInputError("--sql needs --url (a SQLAlchemy URL such as postgresql://...)")
        if column_type or encoding:
            flag = "--column-type" if column_type else "--encoding"
            raise InvalidInputError(f"{flag} applies to CSV sources only, not to --sql")
        data: Any = SqlSource(sql, url)
    else:
        assert source is not None
        data = source_from_uri(source)
        if (column_type or encoding) and not isinstance(data, CsvSource):
            raise InvalidInputError("--column-type and --encoding apply to CSV sources only")
        if column_type:
            types = {k: v[0] for k, v in _parse_pairs(column_type, "--column-type").items()}
            data = dataclasses.replace(data, column_types=types)
        if encoding:
            data = dataclasses.replace(data, encoding=encoding)
    labels = _parse_pairs(classify, "--classify") or None
    with open_workspace(ctx) as ws, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        version = ws.datasets.register(
            name, data, classifications=labels, description=description, require_rows=require_rows
        )
    notes = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    for w in caught:  # other warnings go where they would have gone
        if not issubclass(w.category, DataWarning):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    for note in notes:
        err_console.print(f"[bold yellow]warning:[/] {escape(note)}", highlight=False)
    if as_json:
        print_json({**version.as_dict(), "warnings": notes})
        return
    console.print(
        f"registered [bold]{version.id}[/]: {version.row_count:,} rows, "
        f"{len(version.schema)} columns, content {version.content_digest[:16]}",
        highlight=False,
    )


@app.command("classify")
def classify(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Dataset name."),
    pairs: list[str] = typer.Argument(
        None,
        help="COLUMN=LABEL[,LABEL] (identifier, pii, sensitive...); COLUMN= clears. Without "
        "pairs: show the classifications in force and their history.",
    ),
    reason: str | None = typer.Option(None, "--reason", help="Why (kept in the history)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Label columns for the versions registered from now on (audited; see the history)."""
    from falaj.errors import InvalidInputError

    labels: dict[str, list[str]] = {}
    for item in pairs or []:
        column, sep, values = item.partition("=")
        if not sep or not column.strip():
            raise InvalidInputError(
                f"{item!r} is invalid: expected COLUMN=LABEL[,LABEL...] (e.g. email=pii), or "
                "COLUMN= to clear"
            )
        labels[column.strip()] = [v.strip() for v in values.split(",") if v.strip()]
    with open_workspace(ctx) as ws:
        current = ws.datasets.classify(name, labels, reason=reason) if labels else None
        changes = ws.datasets.classification_history(name)
        if current is None:
            ws.datasets.get(name)  # an unknown dataset is an error, not an empty history
            state: dict[str, list[str]] = {}
            for change in changes:
                state[change.column] = change.labels
            current = {c: v for c, v in sorted(state.items()) if v}
    if as_json:
        print_json({"classifications": current, "history": [c.as_dict() for c in changes]})
        return
    console.print(
        f"classifications of [bold]{name}[/] for new versions: "
        + (", ".join(f"{c}={','.join(v)}" for c, v in current.items()) or "none"),
        highlight=False,
    )
    if changes:
        table = Table("when (UTC)", "column", "from", "to", "by", "reason", title="history")
        for c in changes:
            table.add_row(
                c.changed_at.strftime("%Y-%m-%d %H:%M:%S"),
                c.column,
                ",".join(c.previous) or "-",
                ",".join(c.labels) or "-",
                c.changed_by,
                c.reason or "",
            )
        console.print(table)


@app.command("versions")
@app.command("list")
def versions(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="Dataset name; default: every dataset."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List the versions of a dataset (or the latest version of every dataset)."""
    with open_workspace(ctx) as ws:
        items = ws.datasets.versions(name) if name else ws.datasets.latest_versions()
        statuses = {v.id: ws.datasets.validation_status(v.id) for v in items}
    if as_json:
        print_json([{**v.as_dict(), "validation": statuses[v.id]} for v in items])
        return
    table = Table("id", "rows", "columns", "content", "source", "validation", "by", "at")
    for v in items:
        table.add_row(
            v.id,
            f"{v.row_count:,}",
            str(len(v.schema)),
            v.content_digest[:12],
            v.source.get("kind", ""),
            statuses[v.id] or "-",
            v.created_by,
            v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME@VERSION, or NAME for the latest."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Metadata, schema, classifications and validation status of a version."""
    with open_workspace(ctx) as ws:
        version = ws.datasets.get(ref)
        status = ws.datasets.validation_status(version.id)
    if as_json:
        print_json({**version.as_dict(), "validation": status})
        return
    _render_version(version, status)


def _render_version(v: DatasetVersion, status: str | None) -> None:
    console.print(f"[bold]{v.id}[/]  {v.description or ''}", highlight=False)
    for label, value in (
        ("rows", f"{v.row_count:,}"),
        ("content", v.content_digest),
        ("parquet", f"sha256:{v.artifact_digest} ({v.size_bytes:,} bytes)"),
        ("source", ", ".join(f"{k}={val}" for k, val in v.source.items())),
        ("registered", f"{v.created_at:%Y-%m-%d %H:%M:%S} by {v.created_by} in {v.region}"),
        ("validation", status or "never validated"),
    ):
        console.print(f"  {label:<11} {value}", highlight=False)
    table = Table("column", "type", "classifications")
    for column in v.schema:
        table.add_row(
            column["name"], column["type"], ", ".join(v.classifications.get(column["name"], []))
        )
    console.print(table)


@app.command("profile")
def profile(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME@VERSION, or NAME for the latest."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Per-column statistics stored with the version."""
    with open_workspace(ctx) as ws:
        version = ws.datasets.get(ref)
        stats = ws.datasets.profile(version.id)
    if as_json:
        print_json(stats.to_dict())
        return
    console.print(f"[bold]{version.id}[/]: {stats.row_count:,} rows", highlight=False)
    render_profile(stats)


def render_profile(stats: Profile) -> None:
    """A rich table of a profile (used by the CLI and the demo)."""
    table = Table("column", "kind", "nulls", "distinct", "min", "median", "max", "mean", "top")
    for c in stats.columns.values():
        top = ", ".join(f"{v} {n / max(c.count - c.null_count, 1):.0%}" for v, n in c.top[:3])
        table.add_row(
            c.name,
            c.kind,
            f"{c.null_rate:.1%}",
            f"{c.distinct_count:,}",
            _fmt(c.min),
            _fmt(c.quantiles.get("0.5")),
            _fmt(c.max),
            _fmt(c.mean),
            top,
        )
    console.print(table)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


@app.command("validate")
def validate(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME@VERSION, or NAME for the latest."),
    expectations: Path = typer.Option(..., "--expectations", "-e", help="Suite YAML file."),
    policy: Policy = typer.Option(
        Policy.fail, "--policy", help="What a failure does: exit non-zero, warn, or quarantine."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Check a version against an expectation suite; exit non-zero when it fails (policy fail).

    With --json the report is printed on stdout whether or not the data passed.
    """
    from falaj.data.errors import ValidationFailedError
    from falaj.data.validate import check_policy

    chosen = check_policy(policy.value)
    with open_workspace(ctx) as ws:
        try:
            result = ws.datasets.validate(ref, expectations, policy=chosen)
        except ValidationFailedError as exc:
            if as_json:
                print_json(_result_dict(exc.result))
            raise
    if as_json:
        print_json(_result_dict(result))
        return
    render_validation(result)


def _result_dict(result: ValidationResult) -> dict[str, Any]:
    return {
        "id": result.id,
        "dataset_version_id": result.dataset_version_id,
        "status": result.status,
        "policy": result.policy,
        "report_digest": result.report_digest,
        "quarantine_version_id": result.quarantine_version_id,
        "valid_version_id": result.valid_version_id,
        **result.report.as_dict(),
    }


def render_validation(result: ValidationResult) -> None:
    """A rich table of a validation result (used by the CLI and the demo)."""
    colour = {"passed": "green", "warned": "yellow", "failed": "red"}[result.status]
    console.print(
        f"[{colour}]{result.status}[/]: {result.dataset_version_id or 'data'} against suite "
        f"{result.report.suite!r} ({len(result.failures)} of {len(result.checks)} checks failed, "
        f"{result.failed_rows} of {result.report.row_count:,} rows)",
        highlight=False,
    )
    if result.failures:
        table = Table("check", "expectation", "failed rows", "examples")
        for c in result.failures:
            rows = f"{c.failed_rows:,}" if c.row_level else "dataset"
            table.add_row(c.check, c.description, rows, ", ".join(map(str, c.examples[:3])))
        console.print(table)
    if result.quarantine_version_id:
        console.print(
            f"quarantined {result.failed_rows} rows into {result.quarantine_version_id}",
            highlight=False,
        )
    if result.valid_version_id:
        console.print(
            f"stored the {result.report.row_count - result.failed_rows:,} good rows as "
            f"{result.valid_version_id} (train on it with --dataset {result.valid_version_id})",
            highlight=False,
        )


@app.command("diff")
def diff(
    ctx: typer.Context,
    a: str = typer.Argument(..., help="NAME@VERSION (before)."),
    b: str = typer.Argument(..., help="NAME@VERSION (after)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Schema, row-count and per-column statistic changes between two versions."""
    with open_workspace(ctx) as ws:
        change = ws.datasets.diff(a, b)
    if as_json:
        print_json(change.as_dict())
        return
    console.print(
        f"{change.a} -> {change.b}: rows {change.row_count_before:,} -> "
        f"{change.row_count_after:,} ({change.row_count_change:+,})"
        + ("  (identical content)" if change.same_content else ""),
        highlight=False,
    )
    for c in change.added_columns:
        console.print(f"  [green]+ {c['name']}[/] ({c['type']})", highlight=False)
    for c in change.removed_columns:
        console.print(f"  [red]- {c['name']}[/] ({c['type']})", highlight=False)
    for t in change.type_changes:
        console.print(f"  ~ {t.column}: type {t.before} -> {t.after}", highlight=False)
    if change.stat_changes:
        table = Table("column", "statistic", "before", "after")
        for s in change.stat_changes:
            table.add_row(s.column, s.stat, _fmt(s.before), _fmt(s.after))
        console.print(table)


@app.command("anomalies")
def anomalies(
    ctx: typer.Context,
    batch: str = typer.Argument(..., help="NAME@VERSION of the new batch."),
    reference: str = typer.Option(..., "--reference", "-r", help="NAME@VERSION to compare to."),
    outliers: bool = typer.Option(False, help="Also score rows with IsolationForest."),
    fail_on: str = FAIL_ON,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Compare a batch with a reference version: volume, nulls, categories, range, shift.

    Exits 8 when a finding reaches --fail-on (default: an alert), so a CI job can block on it.
    """
    from falaj.cli.fail_on import check_fail_on, exit_for

    check_fail_on(fail_on)
    with open_workspace(ctx) as ws:
        report = ws.datasets.detect_anomalies(batch, reference, outliers=outliers)
    if as_json:
        print_json(report.as_dict())
    else:
        console.print(report.summary(), highlight=False, markup=False)
    severities = [f.severity for f in report.findings]
    exit_for(fail_on, alerts=severities.count("alert"), warnings=severities.count("warning"))


# The spelling of the previous release, hidden, kept for one release.
app.command("versions", hidden=True, help="Old spelling of 'data list'.")(versions)


@app.command("export")
def export(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Dataset name."),
    dest: Path = typer.Argument(..., help="Parquet file to write."),
    region: str = typer.Option(
        ..., help="Region the destination lies in (checked against the residency policy)."
    ),
    version: int | None = typer.Option(None, help="Version to export (default: the latest)."),
) -> None:
    """Copy a version's data out of the workspace, refused (exit 8) where residency forbids."""
    with open_workspace(ctx) as ws:
        path = ws.datasets.export(name, dest, region=region, version=version)
    console.print(f"exported to {path} (region {region})")
