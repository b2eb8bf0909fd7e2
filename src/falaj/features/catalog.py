"""Registered definitions: every version kept, the latest in force.

A definition's version row holds its canonical spec and the spec's sha256. Applying a spec equal
to the latest version's is a no-op; any change appends version ``n + 1``; nothing is rewritten.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import Connection

from falaj.features.definitions import Definition, Entity, FeatureService, FeatureView
from falaj.features.tables import feature_definitions as fd

__all__ = ["Registered", "apply_specs", "latest", "spec_digest", "versions"]

_BUILD: dict[str, Callable[[Mapping[str, Any]], Definition]] = {
    "entity": Entity.from_spec,
    "feature_view": FeatureView.from_spec,
    "feature_service": FeatureService.from_spec,
}


@dataclass(frozen=True)
class Registered:
    """One stored version of a definition."""

    kind: str
    name: str
    version: int
    definition: Definition
    spec_digest: str
    created_by: str
    created_at: dt.datetime

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "spec": self.definition.spec(),
            "spec_digest": self.spec_digest,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


def spec_digest(spec: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(spec, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _from_row(row: Any) -> Registered:
    return Registered(
        row.kind,
        row.name,
        row.version,
        _BUILD[row.kind](row.spec),
        row.spec_digest,
        row.created_by,
        row.created_at,
    )


def latest(conn: Connection, kind: str | None = None) -> dict[tuple[str, str], Registered]:
    """The latest version of every definition (of ``kind``), keyed by (kind, name)."""
    newest = sa.select(fd.c.kind, fd.c.name, sa.func.max(fd.c.version).label("v")).group_by(
        fd.c.kind, fd.c.name
    )
    if kind is not None:
        newest = newest.where(fd.c.kind == kind)
    sub = newest.subquery()
    query = sa.select(fd).join(
        sub, sa.and_(fd.c.kind == sub.c.kind, fd.c.name == sub.c.name, fd.c.version == sub.c.v)
    )
    return {(r.kind, r.name): _from_row(r) for r in conn.execute(query)}


def versions(conn: Connection, kind: str, name: str) -> list[Registered]:
    """Every version of one definition, oldest first."""
    rows = conn.execute(
        sa.select(fd).where(fd.c.kind == kind, fd.c.name == name).order_by(fd.c.version)
    )
    return [_from_row(r) for r in rows]


def apply_specs(
    conn: Connection,
    definitions: Sequence[Definition],
    current: dict[tuple[str, str], Registered],
    *,
    by: str,
    now: dt.datetime,
) -> tuple[list[Registered], list[Registered]]:
    """Insert a new version of every changed definition in one batched statement.

    Returns (changed: the new versions, unchanged: the latest versions left as they were).
    """
    changed: list[Registered] = []
    unchanged: list[Registered] = []
    rows: list[dict[str, Any]] = []
    for definition in definitions:
        spec = definition.spec()
        digest = spec_digest(spec)
        prior = current.get((definition.kind, definition.name))
        if prior is not None and prior.spec_digest == digest:
            unchanged.append(prior)
            continue
        version = 1 if prior is None else prior.version + 1
        rows.append(
            {
                "kind": definition.kind,
                "name": definition.name,
                "version": version,
                "spec": spec,
                "spec_digest": digest,
                "created_by": by,
                "created_at": now,
            }
        )
        changed.append(
            Registered(definition.kind, definition.name, version, definition, digest, by, now)
        )
    if rows:
        conn.execute(sa.insert(fd), rows)
    return changed, unchanged


def by_kind(registered: Iterable[Registered], kind: str) -> dict[str, Registered]:
    return {r.name: r for r in registered if r.kind == kind}
