"""Reads and writes over one open connection, shared by the service, gates and promotion.

Each function works inside the caller's transaction, so a promotion can check its gates and move
an alias against one consistent view of the registry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from falaj.registry.errors import (
    AliasNotFoundError,
    ModelNotFoundError,
    ModelVersionNotFoundError,
    VersionStateError,
)
from falaj.registry.models import (
    AliasMove,
    Approval,
    Evidence,
    ModelVersion,
    RegisteredModel,
    parse_version_ref,
)
from falaj.registry.tables import (
    alias_moves,
    model_aliases,
    model_approvals,
    model_evidence,
    model_version_tags,
    model_versions,
    registered_models,
)

__all__ = [
    "aliases_of",
    "approvals_of",
    "evidence_of",
    "get_model_row",
    "move_alias",
    "require_model",
    "resolve_version",
    "version_aliases",
]


def get_model_row(conn: Connection, name: str, *, lock: bool = False) -> RegisteredModel:
    query = sa.select(registered_models).where(registered_models.c.name == name)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    if row is None:
        raise ModelNotFoundError(f"registered model {name!r} does not exist")
    return RegisteredModel(**row._mapping, aliases=aliases_of(conn, name))


def require_model(conn: Connection, name: str) -> None:
    """Raise :class:`ModelNotFoundError` unless ``name`` is registered."""
    found = conn.execute(
        sa.select(registered_models.c.name).where(registered_models.c.name == name)
    ).first()
    if found is None:
        raise ModelNotFoundError(f"registered model {name!r} does not exist")


def aliases_of(conn: Connection, name: str) -> dict[str, int]:
    rows = conn.execute(
        sa.select(model_aliases.c.alias, model_aliases.c.version)
        .where(model_aliases.c.name == name)
        .order_by(model_aliases.c.alias)
    )
    return {r.alias: int(r.version) for r in rows}


def version_aliases(conn: Connection, name: str, version: int) -> tuple[str, ...]:
    rows = conn.execute(
        sa.select(model_aliases.c.alias)
        .where(model_aliases.c.name == name, model_aliases.c.version == version)
        .order_by(model_aliases.c.alias)
    )
    return tuple(r.alias for r in rows)


def _tags(conn: Connection, name: str, version: int) -> dict[str, str]:
    rows = conn.execute(
        sa.select(model_version_tags.c.key, model_version_tags.c.value)
        .where(model_version_tags.c.name == name, model_version_tags.c.version == version)
        .order_by(model_version_tags.c.key)
    )
    return {r.key: r.value for r in rows}


def version_from_row(conn: Connection, row: sa.Row[Any]) -> ModelVersion:
    m = row._mapping
    return ModelVersion(
        name=m["name"],
        version=int(m["version"]),
        run_id=m["run_id"],
        artifact_digest=m["artifact_digest"],
        flavor=m["flavor"],
        status=m["status"],
        created_by=m["created_by"],
        created_at=m["created_at"],
        description=m["description"],
        tags=_tags(conn, m["name"], int(m["version"])),
        source_uri=m["source_uri"],
        updated_at=m["updated_at"],
        aliases=version_aliases(conn, m["name"], int(m["version"])),
    )


def resolve_version(conn: Connection, name: str, ref: int | str) -> ModelVersion:
    """The version ``ref`` names: a number, an alias, or ``"latest"`` (newest non-deleted)."""
    parsed = parse_version_ref(ref)
    mv = model_versions
    if parsed == "latest":
        query = (
            sa.select(mv)
            .where(mv.c.name == name, mv.c.status != "DELETED")
            .order_by(mv.c.version.desc())
            .limit(1)
        )
    elif isinstance(parsed, int):
        query = sa.select(mv).where(mv.c.name == name, mv.c.version == parsed)
    else:
        target = conn.execute(
            sa.select(model_aliases.c.version).where(
                model_aliases.c.name == name, model_aliases.c.alias == parsed
            )
        ).scalar_one_or_none()
        if target is None:
            require_model(conn, name)
            known = ", ".join(aliases_of(conn, name)) or "none"
            raise AliasNotFoundError(f"model {name!r} has no alias {parsed!r} (aliases: {known})")
        query = sa.select(mv).where(mv.c.name == name, mv.c.version == target)
    row = conn.execute(query).one_or_none()
    if row is None:
        require_model(conn, name)
        raise ModelVersionNotFoundError(f"model {name!r} has no version {ref!r}")
    return version_from_row(conn, row)


def require_status(version: ModelVersion, action: str, allowed: tuple[str, ...]) -> None:
    if version.status not in allowed:
        raise VersionStateError(
            f"cannot {action} model {version.name!r} version {version.version}: its status is "
            f"{version.status} (expected {' or '.join(allowed)})"
        )


def move_alias(
    conn: Connection,
    *,
    name: str,
    alias: str,
    to_version: int | None,
    who: str,
    when: dt.datetime,
    reason: str,
) -> int | None:
    """Point ``alias`` at ``to_version`` (None deletes it) and append the move; returns the
    version it pointed at before (None when new)."""
    current = conn.execute(
        sa.select(model_aliases.c.version)
        .where(model_aliases.c.name == name, model_aliases.c.alias == alias)
        .with_for_update()
    ).scalar_one_or_none()
    where = sa.and_(model_aliases.c.name == name, model_aliases.c.alias == alias)
    if to_version is None:
        if current is None:
            raise AliasNotFoundError(f"model {name!r} has no alias {alias!r}")
        conn.execute(sa.delete(model_aliases).where(where))
    elif current is None:
        conn.execute(
            sa.insert(model_aliases).values(
                name=name, alias=alias, version=to_version, updated_by=who, updated_at=when
            )
        )
    else:
        conn.execute(
            sa.update(model_aliases)
            .where(where)
            .values(version=to_version, updated_by=who, updated_at=when)
        )
    conn.execute(
        sa.insert(alias_moves).values(
            name=name,
            alias=alias,
            from_version=current,
            to_version=to_version,
            moved_by=who,
            moved_at=when,
            reason=reason,
        )
    )
    return None if current is None else int(current)


def alias_history(conn: Connection, name: str, alias: str | None) -> list[AliasMove]:
    query = sa.select(alias_moves).where(alias_moves.c.name == name)
    if alias is not None:
        query = query.where(alias_moves.c.alias == alias)
    query = query.order_by(alias_moves.c.moved_at, alias_moves.c.seq)
    return [AliasMove(**r._mapping) for r in conn.execute(query)]


def alias_at(conn: Connection, name: str, alias: str, when: dt.datetime) -> int | None:
    """The version ``alias`` pointed at, at time ``when`` (one indexed query)."""
    am = alias_moves
    value = conn.execute(
        sa.select(am.c.to_version)
        .where(am.c.name == name, am.c.alias == alias, am.c.moved_at <= when)
        .order_by(am.c.moved_at.desc(), am.c.seq.desc())
        .limit(1)
    ).one_or_none()
    return None if value is None or value[0] is None else int(value[0])


def evidence_of(conn: Connection, name: str, version: int) -> list[Evidence]:
    rows = conn.execute(
        sa.select(model_evidence)
        .where(model_evidence.c.name == name, model_evidence.c.version == version)
        .order_by(model_evidence.c.created_at, model_evidence.c.id)
    )
    return [Evidence(**r._mapping) for r in rows]


def approvals_of(conn: Connection, name: str, version: int) -> list[Approval]:
    rows = conn.execute(
        sa.select(model_approvals)
        .where(model_approvals.c.name == name, model_approvals.c.version == version)
        .order_by(model_approvals.c.created_at, model_approvals.c.id)
    )
    result = []
    for r in rows:
        m = dict(r._mapping)
        m["roles"] = tuple(m["roles"] or ())
        result.append(Approval(**m))
    return result
