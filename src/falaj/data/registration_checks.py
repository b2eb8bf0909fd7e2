"""What registration says about the data before storing it: no rows, and column type changes
against the previous version, with the values that caused them.

A header-only CSV is a valid 0-row table, and one bad cell ("twelve") silently turns a numeric
column into text; both are accepted (the data is what it is) but never silently:
:func:`check_rows` and :func:`type_changes` return the warnings that
:meth:`~falaj.data.service.DatasetService.register` raises as :class:`DataWarning`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from falaj.data.errors import EmptyDatasetError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["TypeChange", "check_rows", "type_changes"]

#: how many offending values a warning names
SHOWN_VALUES = 5
#: distinct values checked one by one for offenders (beyond it, the warning says so)
CHECKED_DISTINCT = 20_000


def check_rows(name: str, row_count: int, *, require_rows: bool) -> list[str]:
    """Raise :class:`EmptyDatasetError` (require_rows) or return a warning for a 0-row source."""
    if row_count > 0:
        return []
    message = (
        f"dataset {name!r}: the source has no rows (only a header?); a 0-row version would be "
        "registered"
    )
    if require_rows:
        raise EmptyDatasetError(f"{message}; refused because rows are required (--require-rows)")
    return [f"{message} (pass --require-rows / require_rows=True to refuse it)"]


@dataclass(frozen=True)
class TypeChange:
    """Column ``column`` was ``before`` in version ``previous`` and is ``after`` now."""

    column: str
    before: str
    after: str
    previous: str
    offending: tuple[str, ...]
    more: bool

    def message(self, name: str) -> str:
        text = (
            f"dataset {name!r}: column {self.column!r} changed type from {self.before} "
            f"({self.previous}) to {self.after}"
        )
        if self.offending:
            shown = ", ".join(repr(v) for v in self.offending)
            text += (
                f"; values that are not {self.before}: {shown}{' and more' if self.more else ''}"
            )
        return text + f" (fix the source, or pin the type with --column-type {self.column}=TYPE)"


def type_changes(
    previous_id: str,
    previous_schema: list[dict[str, str]],
    schema: list[dict[str, str]],
    parquet: Path,
) -> list[TypeChange]:
    """Columns present in both schemas whose type differs, with the values to blame."""
    before = {c["name"]: c["type"] for c in previous_schema}
    changed = [
        (c["name"], before[c["name"]], c["type"])
        for c in schema
        if c["name"] in before and before[c["name"]] != c["type"]
    ]
    if not changed:
        return []
    import pyarrow.parquet as pq

    table = pq.read_table(parquet, columns=[name for name, _, _ in changed])
    out = []
    for name, old, new in changed:
        offending, more = _offenders(table.column(name), old)
        out.append(TypeChange(name, old, new, previous_id, offending, more))
    return out


def _offenders(column: pa.ChunkedArray, old_type: str) -> tuple[tuple[str, ...], bool]:
    """Distinct values of ``column`` that do not convert to ``old_type`` (first few)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        target = pa.type_for_alias(old_type)
    except (ValueError, TypeError):
        return (), False
    distinct = pc.unique(column.drop_null())
    found: list[str] = []
    for value in distinct.slice(0, CHECKED_DISTINCT).to_pylist():
        try:
            pa.array([value]).cast(target, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            found.append(str(value)[:40])
            if len(found) > SHOWN_VALUES:
                break
    more = len(found) > SHOWN_VALUES or len(distinct) > CHECKED_DISTINCT
    return tuple(found[:SHOWN_VALUES]), more
