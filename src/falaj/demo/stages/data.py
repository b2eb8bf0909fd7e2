"""Stage "data": ingest, profile and validate the German credit data (an empty suite is
refused); catch a corrupted batch, whose quarantined and good rows keep its classifications.

Puts in ``ctx.results``: ``dataset_name`` ("german_credit"), ``dataset_version`` (its
``name@version`` id, the reference version later stages train on), ``batch_version`` (the
corrupted batch) and ``quarantine_version`` (its quarantined rows).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from falaj.data.errors import ExpectationFileError
from falaj.data.sources import CsvSource
from falaj.data.suites import builtin_suite
from falaj.demo.sample_data import german_credit_path

if TYPE_CHECKING:
    import pandas as pd

    from falaj.data.profile import Profile
    from falaj.demo.runner import DemoContext

NAME = "german_credit"


def run(ctx: DemoContext) -> None:
    datasets = ctx.ws.datasets
    source = CsvSource(str(german_credit_path()))
    version = datasets.register(
        NAME,
        source,
        classifications={"sex": ["sensitive"], "age": ["sensitive"]},
        description="German credit applicants (target: risk, 1 good / 0 bad)",
    )
    ctx.say(
        f"registered [bold]{version.id}[/]: {version.row_count:,} rows x {len(version.schema)} "
        f"columns as Parquet, content hash {version.content_digest[:16]}..."
    )
    again = datasets.register(NAME, source)
    ctx.say(f"registered the same file again: same version {again.id} (nothing duplicated)")
    ctx.say(f"sensitive columns: {', '.join(version.columns_labelled('sensitive'))}")
    _show_profile(ctx, datasets.profile(version.id))

    try:
        datasets.validate(version.id, {"suite": "looks-fine"}, policy="fail")
    except ExpectationFileError as exc:
        ctx.say(f"[yellow]refused[/]: {escape(str(exc))}")
    suite = builtin_suite(NAME)
    result = datasets.validate(version.id, suite, policy="fail")
    ctx.say(
        f"validated against [bold]{result.report.suite}[/] ({len(result.checks)} checks): "
        f"[green]{result.status}[/]"
    )

    batch = corrupted_batch(datasets.load(version.id))
    incoming = datasets.register(
        f"{NAME}_batch", batch, description="a corrupted new batch", derived_from=version.id
    )
    ctx.say(
        f"a new batch arrives as {incoming.id} ({incoming.row_count} rows), corrupted on purpose"
    )
    checked = datasets.validate(incoming.id, suite, policy="quarantine")
    assert checked.valid is not None and checked.quarantined is not None
    ctx.say(
        f"policy quarantine: [green]{len(checked.valid)} good[/] + [red]{len(checked.quarantined)} "
        f"bad[/] = {len(checked.valid) + len(checked.quarantined)} rows; bad rows kept in "
        f"{checked.quarantine_version_id}, good rows stored as {checked.valid_version_id}"
    )
    kept = datasets.get(str(checked.quarantine_version_id)).columns_labelled("sensitive")
    ctx.say(f"  both inherit the classifications of {incoming.id}: sensitive {', '.join(kept)}")
    reasons = Counter(
        reason.split(":")[0]
        for cell in checked.quarantined["_falaj_reason"]
        for reason in cell.split("; ")
    )
    for check, count in reasons.most_common():
        ctx.say(f"  {count:>3} rows failed {check}")

    report = datasets.detect_anomalies(incoming.id, version.id, outliers=True)
    ctx.say(f"anomaly report against {version.id}: {len(report.findings)} findings")
    for finding in report.findings:
        colour = "red" if finding.severity == "alert" else "yellow"
        ctx.say(f"  [{colour}]{finding.severity}[/] {finding.message}")

    ctx.results["dataset_name"] = NAME
    ctx.results["dataset_version"] = version.id
    ctx.results["batch_version"] = incoming.id
    ctx.results["quarantine_version"] = checked.quarantine_version_id


def corrupted_batch(reference: pd.DataFrame, rows: int = 400, seed: int = 7) -> pd.DataFrame:
    """A sample of ``reference`` with nulls, negative amounts, an unseen category, longer loans."""
    batch = reference.sample(rows, random_state=seed).reset_index(drop=True)
    batch["duration"] = batch["duration"] * 2 + 12  # a unit/logic change upstream
    batch["credit_amount"] = batch["credit_amount"].astype(float)
    batch.loc[0:14, "credit_amount"] = -batch.loc[0:14, "credit_amount"]
    batch.loc[15:34, "housing"] = None
    batch.loc[35:59, "purpose"] = "crypto"
    return batch


def _show_profile(ctx: DemoContext, profile: Profile) -> None:
    table = Table("column", "kind", "nulls", "distinct", "range / top categories", box=None)
    for c in profile.columns.values():
        if c.kind == "numeric":
            detail = f"{c.min:g} .. {c.max:g} (median {c.quantiles.get('0.5', 0):g})"
        else:
            detail = ", ".join(f"{v} {n / max(c.count, 1):.0%}" for v, n in c.top[:3])
        table.add_row(c.name, c.kind, f"{c.null_rate:.0%}", str(c.distinct_count), detail)
    ctx.console.print(table)
