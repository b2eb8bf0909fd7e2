"""Validation runs: apply a policy to a report, store it, link it to the dataset version.

Policies:

- ``fail``: any failed check stores the report (status ``failed``) and raises
  :class:`~falaj.data.errors.ValidationFailedError` with the failures in words;
- ``warn``: failures are stored (status ``warned``) and the caller goes on;
- ``quarantine``: rows that fail a row-level check are split off into a new version of the
  dataset ``f"{name}__quarantine"`` with the reasons per row (``_falaj_reason``) and their
  position in the input (``_falaj_row``); the good rows come back in ``result.valid`` and, when
  a registered version was validated, are stored as a version of ``f"{name}__valid"``
  (``result.valid_version_id``). Good plus quarantined rows are exactly the input. Both derived
  versions inherit the input's column classifications. A failure of the dataset as a whole (a
  missing column, the row count, freshness) cannot be fixed by removing rows, so it fails as
  under ``fail``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from falaj.data.errors import ExpectationFileError, ValidationFailedError
from falaj.data.expectations import Suite, load_suite
from falaj.data.tables import dataset_validations
from falaj.data.validate import ValidationReport, ValidationResult, check_policy, run_suite
from falaj.data.validate_chunks import run_suite_file
from falaj.data.versions import parse_version_id
from falaj.errors import InvalidInputError
from falaj.lineage.graph import Node, record_edge
from falaj.store.schema import new_id, utcnow

if TYPE_CHECKING:
    import pandas as pd

    from falaj.data.service import DatasetService

__all__ = [
    "QUARANTINE_SUFFIX",
    "REASON_COLUMN",
    "ROW_COLUMN",
    "VALID_SUFFIX",
    "ValidationRecord",
    "latest_status",
    "list_validations",
    "run_validation",
]

QUARANTINE_SUFFIX = "__quarantine"
VALID_SUFFIX = "__valid"
REASON_COLUMN = "_falaj_reason"
ROW_COLUMN = "_falaj_row"
REPORT_MEDIA_TYPE = "application/json"


@dataclass(frozen=True)
class ValidationRecord:
    """A stored validation run (the full report is the JSON artifact ``report_digest``)."""

    id: str
    dataset_version_id: str | None
    suite_name: str
    suite_digest: str
    policy: str
    status: str
    success: bool
    row_count: int
    failed_rows: int
    checks_total: int
    checks_failed: int
    summary: dict[str, Any]
    report_digest: str
    quarantine_version_id: str | None
    created_by: str
    created_at: dt.datetime
    region: str


def run_validation(
    service: DatasetService,
    data_or_id: pd.DataFrame | str,
    suite: Suite | str | Path | dict[str, Any],
    *,
    policy: str = "fail",
    name: str | None = None,
    now: dt.datetime | None = None,
) -> ValidationResult:
    import pandas as pd

    chosen = check_policy(policy)
    expectations = load_suite(suite)
    version_id: str | None = None
    dataset_name: str | None
    if isinstance(data_or_id, str):
        version = service.get(data_or_id)
        version_id, dataset_name = version.id, version.name
        with service.artifacts.local_path(version.artifact_digest) as path:
            # chunk by chunk: memory holds one chunk, never the whole version
            report, chunks = run_suite_file(path, expectations, now=now)
            parts = _split_chunks(chunks(), report) if _quarantines(chosen, report) else None
    elif isinstance(data_or_id, pd.DataFrame):
        frame, dataset_name = data_or_id, name
        if name is not None:
            parse_version_id(name)
        report = run_suite(frame, expectations, now=now)
        parts = split_rows(frame, report) if _quarantines(chosen, report) else None
    else:
        raise InvalidInputError(
            f"data of type {type(data_or_id).__name__} cannot be validated: expected a "
            "DataFrame or a dataset version id such as 'loans@3'"
        )
    if not report.checks:  # an empty suite would "pass" and say nothing about the data
        raise ExpectationFileError(
            f"suite {expectations.name!r} ({expectations.source}) has no checks: expected at "
            "least one column, row or dataset check; nothing was validated or stored"
        )
    valid = quarantined = None
    quarantine_id = valid_id = None
    if report.success:
        status = "passed"
    elif chosen == "warn":
        status = "warned"
    elif parts is not None:
        if dataset_name is None:
            raise InvalidInputError(
                "policy 'quarantine' needs a dataset to file bad rows under: pass name=... "
                "with a DataFrame, or validate a registered version id"
            )
        valid, quarantined = parts
        status = "warned"
        inherited = None if version_id else _labels_of(service, dataset_name, quarantined)
        q = service.register(
            f"{dataset_name}{QUARANTINE_SUFFIX}",
            quarantined,
            description=f"rows of {version_id or dataset_name} failing suite {report.suite!r}",
            derived_from=version_id,
            classifications=inherited,
        )
        quarantine_id = q.id
        if version_id is not None:  # the good rows, as a version one can train on
            good = service.register(
                f"{dataset_name}{VALID_SUFFIX}",
                valid.reset_index(drop=True),
                description=f"rows of {version_id} passing suite {report.suite!r}",
                derived_from=version_id,
            )
            valid_id = good.id
    else:
        status = "failed"
    validation_id, report_digest = _store(
        service, report, expectations, chosen, status, version_id, quarantine_id
    )
    result = ValidationResult(
        id=validation_id,
        dataset_version_id=version_id,
        policy=chosen,
        status=status,
        report=report,
        report_digest=report_digest,
        valid=valid,
        quarantined=quarantined,
        quarantine_version_id=quarantine_id,
        valid_version_id=valid_id,
    )
    if status == "failed":
        why = (
            "it fails dataset-level checks that removing rows cannot fix; "
            if chosen == "quarantine"
            else ""
        )
        raise ValidationFailedError(
            f"validation failed ({why}policy {chosen}):\n" + result.summary(), result
        )
    return result


def _labels_of(
    service: DatasetService, name: str, frame: pd.DataFrame
) -> dict[str, list[str]] | None:
    """Classifications a frame filed under dataset ``name`` inherits (dataset's and latest's)."""
    from falaj.data.classifications import current_classifications, merge_classifications
    from falaj.data.errors import DatasetNotFoundError

    try:
        latest = service.get(name).classifications
    except DatasetNotFoundError:
        latest = {}
    with service.store.read() as conn:
        dataset_level = current_classifications(conn, name)
    merged = merge_classifications(dataset_level, latest, columns=[str(c) for c in frame.columns])
    return merged or None


def _quarantines(policy: str, report: ValidationReport) -> bool:
    return policy == "quarantine" and not report.success and not report.dataset_failures


def _split_chunks(
    chunks: Iterator[pd.DataFrame], report: ValidationReport
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`split_rows` of the whole, chunk by chunk (rows carry their positions as index)."""
    import pandas as pd

    good: list[pd.DataFrame] = []
    bad: list[pd.DataFrame] = []
    for chunk in chunks:
        lo, hi = (int(chunk.index[0]), int(chunk.index[-1]) + 1) if len(chunk) else (0, 0)
        local = {p - lo: r for p, r in report.row_reasons.items() if lo <= p < hi}
        part = ValidationReport(
            suite=report.suite,
            suite_digest=report.suite_digest,
            row_count=len(chunk),
            checks=report.checks,
            row_reasons=local,
        )
        chunk_valid, chunk_bad = split_rows(chunk, part)
        chunk_bad[ROW_COLUMN] += lo
        # empty parts only keep the columns (their dtypes would not decide the whole's)
        if len(chunk_valid) or not good:
            good = [g for g in good if len(g)] + [chunk_valid]
        if len(chunk_bad) or not bad:
            bad = [b for b in bad if len(b)] + [chunk_bad]
    return pd.concat(good), pd.concat(bad, ignore_index=True)


def split_rows(frame: pd.DataFrame, report: ValidationReport) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(good rows, bad rows with their reasons); together they are every input row."""
    import numpy as np

    bad_positions = np.fromiter(report.row_reasons.keys(), dtype=np.int64)
    mask = np.zeros(len(frame), dtype=bool)
    mask[bad_positions] = True
    valid = frame.iloc[~mask]  # keeps the input index, to join back
    bad = frame.iloc[mask].reset_index(drop=True)
    bad.insert(0, ROW_COLUMN, bad_positions)
    bad[REASON_COLUMN] = ["; ".join(report.row_reasons[int(p)]) for p in bad_positions]
    return valid, bad


def _store(
    service: DatasetService,
    report: ValidationReport,
    suite: Suite,
    policy: str,
    status: str,
    version_id: str | None,
    quarantine_id: str | None,
) -> tuple[str, str]:
    payload = {
        **report.as_dict(),
        "suite_definition": suite.as_dict(),
        "policy": policy,
        "status": status,
        "dataset_version_id": version_id,
        "quarantine_version_id": quarantine_id,
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    artifact = service.artifacts.put_bytes(blob, media_type=REPORT_MEDIA_TYPE)
    failed = report.failures
    summary = {
        "failed_checks": [
            {"check": c.check, "failed_rows": c.failed_rows, "examples": c.examples[:3]}
            for c in failed
        ]
    }
    validation_id = new_id()
    details = {"status": status, "policy": policy, "suite": report.suite}
    resource = version_id or f"dataframe:{validation_id}"
    with service.mutation("dataset.validate", "dataset_version", resource, details=details) as m:
        m.conn.execute(
            sa.insert(dataset_validations).values(
                id=validation_id,
                dataset_version_id=version_id,
                suite_name=report.suite[:200],
                suite_digest=report.suite_digest,
                policy=policy,
                status=status,
                success=report.success,
                row_count=report.row_count,
                failed_rows=len(report.row_reasons),
                checks_total=len(report.checks),
                checks_failed=len(failed),
                summary=summary,
                report_digest=artifact.digest,
                quarantine_version_id=quarantine_id,
                created_by=service.principal.name,
                created_at=utcnow(),
                region=service.context.region,
            )
        )
        if version_id is not None:
            record_edge(
                m.conn,
                Node("dataset_version", version_id),
                Node("artifact", artifact.digest),
                "validated_by",
                service.principal,
            )
        m.details["validation_id"] = validation_id
    return validation_id, artifact.digest


def latest_status(service: DatasetService, dataset_version_id: str) -> str | None:
    version = service.get(dataset_version_id)
    query = (
        sa.select(dataset_validations.c.status)
        .where(dataset_validations.c.dataset_version_id == version.id)
        .order_by(dataset_validations.c.created_at.desc(), dataset_validations.c.id)
        .limit(1)
    )
    with service.store.read() as conn:
        status: str | None = conn.execute(query).scalar_one_or_none()
    return status


def list_validations(service: DatasetService, dataset_version_id: str) -> list[ValidationRecord]:
    version = service.get(dataset_version_id)
    query = (
        sa.select(dataset_validations)
        .where(dataset_validations.c.dataset_version_id == version.id)
        .order_by(dataset_validations.c.created_at.desc())
    )
    with service.store.read() as conn:
        return [ValidationRecord(**row._mapping) for row in conn.execute(query)]
