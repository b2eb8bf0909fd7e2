"""Column classifications of a dataset over time: ``ws.datasets.classify`` and what a new
version inherits.

Classifications (``identifier``, ``pii``, ``sensitive``...) decide what training may use as a
feature and what a profile redacts, so they must not get lost on the way:

- ``classify(name, {column: [labels]})`` records a change for the dataset (audited, kept in
  ``dataset_classification_changes``); the latest change of each column applies to every
  version registered after it. Existing versions are immutable and keep theirs.
- a version registered with ``derived_from`` (quarantine, good rows, any version made from
  another) inherits its parent's classifications for the columns it still has;
- a version's classifications are the union of the dataset's, the parent's and the ones passed
  to ``register``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from falaj.data.tables import dataset_classification_changes as changes
from falaj.data.versions import check_classifications, check_name
from falaj.errors import InvalidInputError
from falaj.store.schema import utcnow

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from falaj.data.service import DatasetService

__all__ = [
    "ClassificationChange",
    "classify",
    "current_classifications",
    "history",
    "merge_classifications",
]


@dataclass(frozen=True)
class ClassificationChange:
    """One change of one column's labels (``labels`` empty: the labels were cleared)."""

    seq: int
    name: str
    column: str
    labels: list[str]
    previous: list[str]
    changed_by: str
    changed_at: dt.datetime
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "name": self.name,
            "column": self.column,
            "labels": self.labels,
            "previous": self.previous,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.isoformat(),
            "reason": self.reason,
        }


def merge_classifications(
    *sources: Mapping[str, Iterable[str]] | None, columns: Iterable[str]
) -> dict[str, list[str]]:
    """Union of the labels every source gives each of ``columns`` (others are left out);
    columns in the order they first appear in the sources."""
    keep = set(columns)
    out: dict[str, set[str]] = {}
    for source in sources:
        for column, labels in (source or {}).items():
            if column in keep and labels:
                out.setdefault(column, set()).update(labels)
    return {c: sorted(v) for c, v in out.items()}


def _rows(conn: Connection, name: str) -> list[ClassificationChange]:
    query = sa.select(changes).where(changes.c.name == name).order_by(changes.c.seq)
    return [
        ClassificationChange(
            seq=int(r.seq),
            name=r.name,
            column=r.column_name,
            labels=list(r.labels),
            previous=list(r.previous),
            changed_by=r.changed_by,
            changed_at=r.changed_at,
            reason=r.reason,
        )
        for r in conn.execute(query)
    ]


def current_classifications(conn: Connection, name: str) -> dict[str, list[str]]:
    """The dataset-level labels in force: the latest change of each column."""
    state: dict[str, list[str]] = {}
    for change in _rows(conn, name):
        state[change.column] = change.labels
    return {c: v for c, v in sorted(state.items()) if v}


def history(service: DatasetService, name: str) -> list[ClassificationChange]:
    check_name(name)
    with service.store.read() as conn:
        return _rows(conn, name)


def classify(
    service: DatasetService,
    name: str,
    labels: Mapping[str, Iterable[str] | str],
    *,
    reason: str | None = None,
) -> dict[str, list[str]]:
    """Set the labels of columns of ``name`` for the versions registered from now on.

    ``labels`` maps a column to its labels (an empty list clears them). The columns must be in
    the latest version. Returns the dataset-level classifications now in force.
    """
    check_name(name)
    latest = service.get(name)
    if not isinstance(labels, Mapping) or not labels:
        raise InvalidInputError(
            f"classifications {labels!r} are invalid: expected {{column: [labels]}} with at "
            "least one column"
        )
    if reason is not None and not isinstance(reason, str):
        raise InvalidInputError(f"reason {reason!r} is invalid: expected text or None")
    cleared = [c for c, v in labels.items() if isinstance(v, list | tuple) and not v]
    given = {c: ([v] if isinstance(v, str) else list(v)) for c, v in labels.items()}
    checked = check_classifications(
        {c: v for c, v in given.items() if c not in cleared}, latest.columns
    )
    missing = [c for c in cleared if c not in latest.columns]
    if missing:
        raise InvalidInputError(
            f"classifications name column(s) {missing}, which {latest.id} does not have "
            f"(columns: {latest.columns})"
        )
    wanted = {**checked, **{c: [] for c in cleared}}
    details: dict[str, Any] = {"labels": wanted, "reason": reason}
    with service.mutation("dataset.classify", "dataset", name, details=details) as m:
        before = current_classifications(m.conn, name)
        now = utcnow()
        changed = {}
        for column, new in sorted(wanted.items()):
            old = before.get(column, [])
            if old == new:
                continue
            m.conn.execute(
                sa.insert(changes).values(
                    name=name,
                    column_name=column,
                    labels=new,
                    previous=old,
                    changed_by=service.principal.name,
                    changed_at=now,
                    reason=reason,
                )
            )
            changed[column] = {"from": old, "to": new}
        m.details["changed"] = changed
        return current_classifications(m.conn, name)
