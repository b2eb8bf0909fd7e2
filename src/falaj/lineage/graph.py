"""Recording and walking lineage: "which data produced this prediction?" is one query.

Nodes are ``(kind, id)`` pairs. Kinds used across Falaj: ``source``, ``dataset_version``,
``artifact``, ``pipeline_run``, ``step_run``, ``run``, ``model_version``, ``deployment``,
``prediction``. An edge points from upstream (what was used) to downstream (what was made), with
a relation such as ``input``, ``output``, ``produced``, ``derived_from``, ``serves``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from falaj.errors import InvalidInputError
from falaj.governance.authorization import Action
from falaj.governance.principal import Principal
from falaj.governance.service import Service
from falaj.lineage.tables import lineage_edges
from falaj.store.dml import insert_ignore
from falaj.store.schema import new_id, utcnow

__all__ = ["Edge", "LineageService", "Node", "record_edge"]

MAX_DEPTH = 64


@dataclass(frozen=True, order=True)
class Node:
    kind: str
    id: str

    def __post_init__(self) -> None:
        if not self.kind or not isinstance(self.kind, str) or len(self.kind) > 50:
            raise InvalidInputError(f"lineage node kind {self.kind!r} is invalid")
        if not self.id or not isinstance(self.id, str) or len(self.id) > 300:
            raise InvalidInputError(f"lineage node id {self.id!r} is invalid")

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Node:
        """``kind:id`` → Node."""
        kind, sep, ident = text.partition(":")
        if not sep:
            raise InvalidInputError(f"lineage node {text!r} is invalid: expected 'kind:id'")
        return cls(kind, ident)


@dataclass(frozen=True)
class Edge:
    source: Node
    target: Node
    relation: str
    depth: int = 1
    created_at: dt.datetime | None = None
    created_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "target": str(self.target),
            "relation": self.relation,
            "depth": self.depth,
        }


def record_edge(
    conn: Connection, source: Node, target: Node, relation: str, principal: Principal
) -> None:
    """Add an edge inside the caller's transaction (idempotent)."""
    insert_ignore(
        conn,
        lineage_edges,
        {
            "id": new_id(),
            "source_kind": source.kind,
            "source_id": source.id,
            "target_kind": target.kind,
            "target_id": target.id,
            "relation": relation,
            "created_by": principal.name,
            "created_at": utcnow(),
        },
    )


class LineageService(Service):
    """``ws.lineage``: walk the graph upstream (what made this) or downstream (what used this)."""

    def record(self, source: Node, target: Node, relation: str) -> None:
        with self.mutation(
            Action.LINEAGE_RECORD,
            "lineage",
            f"{source}->{target}",
            details={"relation": relation},
        ) as m:
            record_edge(m.conn, source, target, relation, m.actor.principal)

    def upstream(self, node: Node | str, *, max_depth: int = MAX_DEPTH) -> list[Edge]:
        """Every edge that leads into ``node`` (a Node or ``"kind:id"``), transitively,
        nearest first."""
        start = _as_node(node)
        self.authorize(Action.LINEAGE_READ, start.kind, start.id)
        return self._walk(start, upstream=True, max_depth=_depth(max_depth))

    def downstream(self, node: Node | str, *, max_depth: int = MAX_DEPTH) -> list[Edge]:
        """Every edge that leads out of ``node`` (a Node or ``"kind:id"``), transitively,
        nearest first."""
        start = _as_node(node)
        self.authorize(Action.LINEAGE_READ, start.kind, start.id)
        return self._walk(start, upstream=False, max_depth=_depth(max_depth))

    def _walk(self, node: Node, *, upstream: bool, max_depth: int) -> list[Edge]:
        e = lineage_edges
        near_kind, near_id = (
            (e.c.target_kind, e.c.target_id)
            if upstream
            else (
                e.c.source_kind,
                e.c.source_id,
            )
        )
        cols = [e.c.source_kind, e.c.source_id, e.c.target_kind, e.c.target_id, e.c.relation]
        base = (
            sa.select(*cols, sa.literal(1).label("depth"))
            .where(near_kind == node.kind, near_id == node.id)
            .cte("walk", recursive=True)
        )
        e2 = e.alias("e2")
        if upstream:
            join_on = sa.and_(
                e2.c.target_kind == base.c.source_kind, e2.c.target_id == base.c.source_id
            )
        else:
            join_on = sa.and_(
                e2.c.source_kind == base.c.target_kind, e2.c.source_id == base.c.target_id
            )
        step = (
            sa.select(
                e2.c.source_kind,
                e2.c.source_id,
                e2.c.target_kind,
                e2.c.target_id,
                e2.c.relation,
                (base.c.depth + 1).label("depth"),
            )
            .join(base, join_on)
            .where(base.c.depth < max_depth)
        )
        walk = base.union(step)
        query = sa.select(walk).order_by(walk.c.depth)
        with self.store.read() as conn:
            rows = conn.execute(query).all()
        seen: dict[tuple[Node, Node, str], Edge] = {}
        for r in rows:
            src, dst = Node(r.source_kind, r.source_id), Node(r.target_kind, r.target_id)
            key = (src, dst, r.relation)
            if key not in seen:
                seen[key] = Edge(src, dst, r.relation, depth=int(r.depth))
        return list(seen.values())


def _as_node(node: Node | str) -> Node:
    if isinstance(node, Node):
        return node
    if isinstance(node, str):
        return Node.parse(node)
    raise InvalidInputError(
        f"lineage node {node!r} is invalid: expected a Node or 'kind:id' "
        "(e.g. 'dataset_version:credit@1', 'model_version:credit-risk/2')"
    )


def _depth(max_depth: int) -> int:
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1:
        raise InvalidInputError(f"max_depth {max_depth!r} is invalid: expected an integer >= 1")
    return max_depth
