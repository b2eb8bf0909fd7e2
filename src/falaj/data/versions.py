"""Dataset versions as values, their ids (``name@version``), and the diff between two of them."""

from __future__ import annotations

import datetime as dt
import numbers
import re
from dataclasses import dataclass, field
from typing import Any

from falaj.data.profile import Profile
from falaj.errors import InvalidInputError

__all__ = [
    "DatasetDiff",
    "DatasetVersion",
    "check_classifications",
    "check_name",
    "diff_versions",
    "parse_version_id",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,199}$")
_LABEL = re.compile(r"^[a-z][a-z0-9_\-]{0,49}$")
#: labels with a meaning elsewhere in Falaj (others are allowed and stored as given)
KNOWN_LABELS = ("pii", "sensitive", "confidential", "identifier", "target")


@dataclass(frozen=True)
class DatasetVersion:
    """One immutable version of a dataset; ``id`` is ``"name@version"``."""

    name: str
    version: int
    content_digest: str
    artifact_digest: str
    profile_digest: str | None
    schema: list[dict[str, str]]
    row_count: int
    size_bytes: int
    source: dict[str, Any]
    classifications: dict[str, list[str]]
    description: str | None
    created_by: str
    created_at: dt.datetime
    region: str

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def columns(self) -> list[str]:
        return [c["name"] for c in self.schema]

    def columns_labelled(self, label: str) -> list[str]:
        """Columns carrying classification ``label`` (e.g. ``"sensitive"``)."""
        return [c for c, labels in self.classifications.items() if label in labels]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "content_digest": self.content_digest,
            "artifact_digest": self.artifact_digest,
            "profile_digest": self.profile_digest,
            "schema": self.schema,
            "row_count": self.row_count,
            "size_bytes": self.size_bytes,
            "source": self.source,
            "classifications": self.classifications,
            "description": self.description,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "region": self.region,
        }


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"dataset name {name!r} is invalid: expected 1-200 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def parse_version_id(ref: str, version: int | None = None) -> tuple[str, int | None]:
    """``"name@3"`` -> ("name", 3); ``"name"`` -> ("name", version)."""
    if not isinstance(ref, str):
        raise InvalidInputError(f"dataset reference {ref!r} is invalid: expected 'name@version'")
    name, sep, tail = ref.partition("@")
    if sep:
        if version is not None:
            raise InvalidInputError(
                f"dataset reference {ref!r} already names a version; do not pass version too"
            )
        if not tail.isdigit() or int(tail) < 1:
            raise InvalidInputError(
                f"dataset reference {ref!r} is invalid: expected 'name@<positive integer>'"
            )
        return check_name(name), int(tail)
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, numbers.Integral) or version < 1
    ):
        raise InvalidInputError(f"dataset version {version!r} is invalid: expected an integer >= 1")
    return check_name(name), None if version is None else int(version)


def check_classifications(
    classifications: dict[str, list[str]] | None, columns: list[str]
) -> dict[str, list[str]]:
    """Validated ``{column: [labels]}``: columns must exist, labels are lowercase words."""
    if classifications is None:
        return {}
    if not isinstance(classifications, dict):
        raise InvalidInputError(
            f"classifications {classifications!r} is invalid: expected {{column: [labels]}}"
        )
    out: dict[str, list[str]] = {}
    for column, labels in classifications.items():
        if column not in columns:
            raise InvalidInputError(
                f"classifications names column {column!r}, which the data does not have "
                f"(columns: {columns})"
            )
        if isinstance(labels, str):
            labels = [labels]
        if not isinstance(labels, list | tuple) or not labels:
            raise InvalidInputError(
                f"classifications[{column!r}] = {labels!r} is invalid: expected a list of labels "
                f"such as {list(KNOWN_LABELS)}"
            )
        for label in labels:
            if not isinstance(label, str) or not _LABEL.match(label):
                raise InvalidInputError(
                    f"classification label {label!r} of column {column!r} is invalid: expected a "
                    f"lowercase word such as {list(KNOWN_LABELS)}"
                )
        out[column] = sorted(set(labels))
    return out


@dataclass(frozen=True)
class ColumnChange:
    column: str
    stat: str
    before: Any
    after: Any


@dataclass(frozen=True)
class DatasetDiff:
    """What changed from version ``a`` to version ``b``."""

    a: str
    b: str
    same_content: bool
    added_columns: list[dict[str, str]]
    removed_columns: list[dict[str, str]]
    type_changes: list[ColumnChange]
    row_count_before: int
    row_count_after: int
    stat_changes: list[ColumnChange] = field(default_factory=list)

    @property
    def row_count_change(self) -> int:
        return self.row_count_after - self.row_count_before

    def as_dict(self) -> dict[str, Any]:
        def change(c: ColumnChange) -> dict[str, Any]:
            return {"column": c.column, "stat": c.stat, "before": c.before, "after": c.after}

        return {
            "a": self.a,
            "b": self.b,
            "same_content": self.same_content,
            "added_columns": self.added_columns,
            "removed_columns": self.removed_columns,
            "type_changes": [change(c) for c in self.type_changes],
            "row_count_before": self.row_count_before,
            "row_count_after": self.row_count_after,
            "row_count_change": self.row_count_change,
            "stat_changes": [change(c) for c in self.stat_changes],
        }


_STATS = ("null_rate", "distinct_count", "min", "max", "mean", "std")


def diff_versions(
    a: DatasetVersion,
    b: DatasetVersion,
    profile_a: Profile | None,
    profile_b: Profile | None,
) -> DatasetDiff:
    types_a = {c["name"]: c["type"] for c in a.schema}
    types_b = {c["name"]: c["type"] for c in b.schema}
    type_changes = [
        ColumnChange(n, "type", types_a[n], types_b[n])
        for n in types_a
        if n in types_b and types_a[n] != types_b[n]
    ]
    stat_changes: list[ColumnChange] = []
    if profile_a is not None and profile_b is not None:
        for name, pa_col in profile_a.columns.items():
            pb_col = profile_b.columns.get(name)
            if pb_col is None:
                continue
            for stat in _STATS:
                before, after = getattr(pa_col, stat), getattr(pb_col, stat)
                if not _close(before, after):
                    stat_changes.append(ColumnChange(name, stat, before, after))
    return DatasetDiff(
        a=a.id,
        b=b.id,
        same_content=a.content_digest == b.content_digest,
        added_columns=[c for c in b.schema if c["name"] not in types_a],
        removed_columns=[c for c in a.schema if c["name"] not in types_b],
        type_changes=type_changes,
        row_count_before=a.row_count,
        row_count_after=b.row_count,
        stat_changes=stat_changes,
    )


def _close(x: Any, y: Any) -> bool:
    if isinstance(x, int | float) and isinstance(y, int | float):
        return abs(float(x) - float(y)) <= 1e-9 * max(1.0, abs(float(x)), abs(float(y)))
    return bool(x == y)
