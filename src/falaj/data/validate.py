"""Running an expectation suite with pandera, and the report it produces.

The suite becomes a pandera ``DataFrameSchema`` (custom vectorized checks named after the
expectation, plus pandera's own nullability, uniqueness, presence and strictness checks) and is
validated lazily, so every failure is collected in one pass. The report lists every check of the
suite with how many rows failed it and example failing values; failures that name rows can be
quarantined row by row, the others (a missing column, the row count, freshness) concern the
dataset as a whole.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from falaj.data.expectations import ColumnSpec, Suite
from falaj.data.row_expr import columns_of, evaluate

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAX_EXAMPLES",
    "POLICIES",
    "CheckResult",
    "Policy",
    "ValidationReport",
    "ValidationResult",
    "check_policy",
    "run_suite",
]

Policy = Literal["fail", "warn", "quarantine"]
POLICIES: tuple[str, ...] = ("fail", "warn", "quarantine")
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class CheckResult:
    """One expectation's outcome: ``failed_rows`` rows failed; ``examples`` shows some values."""

    check: str
    column: str | None
    description: str
    passed: bool
    failed_rows: int = 0
    examples: list[Any] = field(default_factory=list)
    row_level: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "column": self.column,
            "description": self.description,
            "passed": self.passed,
            "failed_rows": self.failed_rows,
            "examples": self.examples,
            "row_level": self.row_level,
        }


@dataclass(frozen=True)
class ValidationReport:
    """What running a suite over a frame found (before any policy is applied)."""

    suite: str
    suite_digest: str
    row_count: int
    checks: list[CheckResult]
    #: row position -> the reasons that row failed
    row_reasons: dict[int, list[str]]

    @property
    def success(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    @property
    def dataset_failures(self) -> list[CheckResult]:
        return [c for c in self.failures if not c.row_level]

    def as_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "suite_digest": self.suite_digest,
            "row_count": self.row_count,
            "success": self.success,
            "failed_rows": len(self.row_reasons),
            "checks": [c.as_dict() for c in self.checks],
        }


@dataclass(frozen=True)
class ValidationResult:
    """The outcome of ``ws.datasets.validate``: the report, the policy's decision and its output.

    ``status`` is ``passed``, ``warned`` (failures under ``warn``, or rows quarantined) or
    ``failed``. Under ``quarantine``, ``valid`` holds the good rows and ``quarantined`` the bad
    ones with a ``_falaj_reason`` column (and ``_falaj_row``, their position in the input).
    """

    id: str
    dataset_version_id: str | None
    policy: str
    status: str
    report: ValidationReport
    report_digest: str
    valid: pd.DataFrame | None = None
    quarantined: pd.DataFrame | None = None
    quarantine_version_id: str | None = None
    #: the good rows of a quarantined registered version, stored as ``<name>__valid``
    valid_version_id: str | None = None

    @property
    def success(self) -> bool:
        return self.report.success

    @property
    def checks(self) -> list[CheckResult]:
        return self.report.checks

    @property
    def failures(self) -> list[CheckResult]:
        return self.report.failures

    @property
    def failed_rows(self) -> int:
        return len(self.report.row_reasons)

    def summary(self) -> str:
        """One line per failed check, in words."""
        target = self.dataset_version_id or "the data"
        head = (
            f"{target} {self.status} suite {self.report.suite!r}: "
            f"{len(self.failures)} of {len(self.checks)} checks failed, "
            f"{self.failed_rows} of {self.report.row_count} rows affected"
        )
        lines = [head]
        for c in self.failures:
            rows = f"{c.failed_rows} rows" if c.row_level else "dataset"
            lines.append(f"  - {c.check} ({c.description}): {rows}; e.g. {c.examples[:3]}")
        return "\n".join(lines)


def check_policy(policy: str) -> Policy:
    if policy not in POLICIES:
        from falaj.errors import InvalidInputError

        raise InvalidInputError(f"policy {policy!r} is invalid: expected one of {POLICIES}")
    return policy  # type: ignore[return-value]


# -- building the pandera schema ---------------------------------------------------------------
@dataclass(frozen=True)
class _Def:
    check: str
    column: str | None
    description: str
    row_level: bool = True


def _type_ok(kind: str) -> Callable[[pd.Series], pd.Series]:
    import numpy as np
    import pandas as pd
    from pandas.api import types as pt

    def per_value(test: Callable[[Any], bool]) -> Callable[[pd.Series], pd.Series]:
        return lambda s: s.map(
            lambda v: v is None or (isinstance(v, float) and math.isnan(v)) or test(v)
        ).astype(bool)

    def check(s: pd.Series) -> pd.Series:
        if kind in ("int", "float", "number"):
            if pt.is_bool_dtype(s):
                return pd.Series(False, index=s.index)
            if pt.is_numeric_dtype(s):
                if kind == "int" and pt.is_float_dtype(s):
                    integral: pd.Series = s.isna() | (np.mod(s, 1) == 0)
                    return integral
                return pd.Series(True, index=s.index)

            def is_number(v: Any) -> bool:
                if isinstance(v, bool | np.bool_) or not isinstance(v, numbers.Real):
                    return False
                return kind != "int" or isinstance(v, numbers.Integral) or float(v).is_integer()

            return per_value(is_number)(s)
        if kind == "str":
            if (
                pt.is_string_dtype(s)
                or pt.is_object_dtype(s)
                or isinstance(s.dtype, pd.CategoricalDtype)
            ):
                return per_value(lambda v: isinstance(v, str))(s)
            return s.isna()
        if kind == "bool":
            if pt.is_bool_dtype(s):
                return pd.Series(True, index=s.index)
            return per_value(lambda v: isinstance(v, bool | np.bool_))(s)
        if pt.is_datetime64_any_dtype(s):
            return pd.Series(True, index=s.index)
        cls = dt.datetime if kind == "datetime" else dt.date
        return per_value(lambda v: isinstance(v, cls))(s)

    return check


def _bound(value: Any, op: str) -> Callable[[pd.Series], pd.Series]:
    import pandas as pd
    from pandas.api import types as pt

    def check(s: pd.Series) -> pd.Series:
        if isinstance(value, int | float):
            values = (
                s
                if pt.is_numeric_dtype(s) and not pt.is_bool_dtype(s)
                else pd.to_numeric(s, errors="coerce")
            )
            bound: Any = value
        else:
            values = pd.to_datetime(s, errors="coerce", utc=True)
            bound = pd.Timestamp(value)
            bound = bound.tz_localize("UTC") if bound.tzinfo is None else bound.tz_convert("UTC")
        ok = values >= bound if op == ">=" else values <= bound
        passed: pd.Series = ok | values.isna()
        return passed

    return check


def _column_checks(spec: ColumnSpec, pa: Any) -> tuple[list[Any], list[_Def]]:
    checks: list[Any] = []
    defs: list[_Def] = []
    name = spec.name

    def add(suffix: str, description: str, fn: Callable[[pd.Series], pd.Series]) -> None:
        check_id = f"{name}.{suffix}"
        checks.append(pa.Check(fn, name=check_id, ignore_na=False))
        defs.append(_Def(check_id, name, description))

    if spec.type is not None:
        add("type", f"values are {spec.type}", _type_ok(spec.type))
    if spec.min is not None:
        add("min", f"{name} >= {spec.min}", _bound(spec.min, ">="))
    if spec.max is not None:
        add("max", f"{name} <= {spec.max}", _bound(spec.max, "<="))
    if spec.allowed is not None:
        allowed = list(spec.allowed)
        add("in", f"{name} in {allowed}", lambda s: s.isin(allowed) | s.isna())
    if spec.regex is not None:
        pattern = re.compile(spec.regex)
        add(
            "regex",
            f"{name} matches {spec.regex!r}",
            lambda s: s.map(lambda v: v is None or v != v or bool(pattern.search(str(v)))).astype(
                bool
            ),
        )
    if not spec.nullable:
        defs.append(_Def(f"{name}.not_null", name, f"{name} is never null"))
    if spec.unique:
        defs.append(_Def(f"{name}.unique", name, f"{name} has no duplicates"))
    if spec.required:
        defs.append(_Def(f"{name}.required", name, f"column {name} is present", row_level=False))
    return checks, defs


def _build(suite: Suite, now: dt.datetime, *, whole: bool = True) -> tuple[Any, list[_Def]]:
    """The pandera schema and every check's definition, in report order.

    ``whole=False`` builds the schema for one chunk of the data: the checks that need every
    row at once (uniqueness, the row count, freshness) are left to the caller, their
    definitions kept.
    """
    import pandas as pd
    import pandera.pandas as pa

    columns: dict[str, Any] = {}
    defs: list[_Def] = []
    for spec in suite.columns:
        checks, column_defs = _column_checks(spec, pa)
        defs += column_defs
        columns[spec.name] = pa.Column(
            checks=checks,
            nullable=spec.nullable,
            unique=spec.unique and whole,
            required=spec.required,
            report_duplicates="exclude_first",
        )
    frame_checks: list[Any] = []
    for row_check in suite.checks:
        check_id = f"check.{row_check.name}"
        expr = row_check.expr
        frame_checks.append(pa.Check(lambda df, e=expr: evaluate(e, df), name=check_id))
        defs.append(_Def(check_id, None, expr))
    lo, hi = suite.row_count_min, suite.row_count_max
    if lo is not None or hi is not None:
        text = f"row count in [{lo if lo is not None else 0}, {hi if hi is not None else 'inf'}]"
        if whole:
            frame_checks.append(
                pa.Check(
                    lambda df: (lo is None or len(df) >= lo) and (hi is None or len(df) <= hi),
                    name="row_count",
                )
            )
        defs.append(_Def("row_count", None, text, row_level=False))
    if suite.freshness is not None:
        fresh = suite.freshness

        def is_fresh(df: pd.DataFrame) -> bool:
            if fresh.column not in df.columns:
                return False
            newest = pd.to_datetime(df[fresh.column], errors="coerce", utc=True).max()
            return bool(pd.notna(newest) and pd.Timestamp(now) - newest <= fresh.max_age)

        if whole:
            frame_checks.append(pa.Check(is_fresh, name="freshness"))
        defs.append(
            _Def("freshness", fresh.column, f"newest {fresh.column} within {fresh.max_age}", False)
        )
    if suite.strict:
        defs.append(_Def("strict", None, "no columns beyond the suite's", row_level=False))
    schema = pa.DataFrameSchema(columns, checks=frame_checks, strict=suite.strict)
    return schema, defs


# -- running -----------------------------------------------------------------------------------
def run_suite(
    frame: pd.DataFrame, suite: Suite, *, now: dt.datetime | None = None
) -> ValidationReport:
    """Validate ``frame`` (its rows addressed by position) against ``suite``."""
    import warnings

    from pandera.errors import SchemaErrors

    now = now or dt.datetime.now(dt.UTC)
    data = frame.reset_index(drop=True)
    schema, defs = _build(suite, now)
    failures = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        # pandas' "Could not infer format" when a freshness/date bound parses text: the check's
        # outcome says what matters, a warning on stderr would not
        warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
        try:
            schema.validate(data, lazy=True)
        except SchemaErrors as exc:
            failures = exc.failure_cases
        return _report(
            suite, defs, failures, len(data), lambda d, pos: _examples(data, d, pos, suite, now)
        )


def _check_id(row: Any) -> str:
    check, column = str(row["check"]), row["column"]
    mapped = {
        "not_nullable": f"{column}.not_null",
        "field_uniqueness": f"{column}.unique",
        "column_in_dataframe": f"{row['failure_case']}.required",
        "column_in_schema": "strict",
    }
    return mapped.get(check, check)


def _report(
    suite: Suite,
    defs: list[_Def],
    failures: Any,
    row_count: int,
    examples_for: Callable[[_Def, list[int]], list[Any]],
) -> ValidationReport:
    """The report from pandera's failure cases (``examples_for``: values of failing rows)."""
    by_id = {d.check: d for d in defs}
    rows: dict[str, set[int]] = {d.check: set() for d in defs}
    examples: dict[str, list[Any]] = {d.check: [] for d in defs}
    failed: set[str] = set()
    errored: set[str] = set()
    if failures is not None:
        for _, row in failures.iterrows():
            check_id = _check_id(row)
            if check_id not in by_id:  # a check pandera added itself (e.g. a dtype)
                by_id[check_id] = _Def(check_id, _none(row["column"]), str(row["check"]), False)
                rows[check_id], examples[check_id] = set(), []
            failed.add(check_id)
            index = row["index"]
            if index is not None and not (isinstance(index, float) and math.isnan(index)):
                rows[check_id].add(int(index))
            elif by_id[check_id].row_level:
                # A row-level check that names no row raised instead of answering (e.g. '>'
                # between text and numbers): no row can be cleared, so it fails the dataset.
                errored.add(check_id)
                if len(examples[check_id]) < MAX_EXAMPLES:
                    examples[check_id].append(
                        f"could not be evaluated: {_jsonable(row['failure_case'])}"
                    )
            elif len(examples[check_id]) < MAX_EXAMPLES and not isinstance(
                _jsonable(row["failure_case"]), bool
            ):  # a scalar check reports just False; its examples are computed below
                examples[check_id].append(_jsonable(row["failure_case"]))
    for check_id in examples:
        if not by_id[check_id].row_level and all(isinstance(e, str) for e in examples[check_id]):
            # schema-level findings (extra columns...) come in pandera's internal order
            examples[check_id].sort()
    row_reasons: dict[int, list[str]] = {}
    results: list[CheckResult] = []
    for check_id, d in by_id.items():
        positions = sorted(rows[check_id])
        for pos in positions:
            row_reasons.setdefault(pos, []).append(f"{check_id}: {d.description}")
        sample = examples[check_id] or examples_for(d, positions)
        results.append(
            CheckResult(
                check=check_id,
                column=d.column,
                description=d.description,
                passed=check_id not in failed,
                failed_rows=len(positions),
                examples=sample,
                row_level=d.row_level and check_id not in errored,
            )
        )
    return ValidationReport(
        suite=suite.name,
        suite_digest=suite.digest,
        row_count=row_count,
        checks=results,
        row_reasons=dict(sorted(row_reasons.items())),
    )


def _examples(
    data: pd.DataFrame, d: _Def, positions: list[int], suite: Suite, now: dt.datetime
) -> list[Any]:
    if d.check == "row_count":
        return [len(data)]
    if d.check == "freshness" and suite.freshness is not None:
        import pandas as pd

        column = suite.freshness.column
        if column not in data.columns:
            return [f"column {column} is missing"]
        newest = pd.to_datetime(data[column], errors="coerce", utc=True).max()
        if pd.isna(newest):
            return [f"column {column} has no date or time values"]
        return [f"newest {newest} is {pd.Timestamp(now) - newest} old"]
    if not positions:
        return []
    seen: list[Any] = []
    add_examples(seen, data, d, positions)
    return seen


def add_examples(seen: list[Any], data: pd.DataFrame, d: _Def, positions: list[int]) -> None:
    """Append the distinct values of ``data`` at ``positions`` to ``seen``, up to MAX_EXAMPLES."""
    for pos in positions:
        if len(seen) >= MAX_EXAMPLES:
            break
        if d.column is not None and d.column in data.columns:
            value = _jsonable(data[d.column].iloc[pos])
        else:
            cols = [c for c in columns_of(d.description) if c in data.columns]
            value = {c: _jsonable(data[c].iloc[pos]) for c in cols}
        if value not in seen:
            seen.append(value)


def _none(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bool | int | float | str):
        return value
    text = str(value)
    return None if text in ("NaT", "nan", "<NA>") else text
