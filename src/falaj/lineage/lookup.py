"""Node ids as users type them: the short id prefixes that list tables print."""

from __future__ import annotations

import sqlalchemy as sa

from falaj.lineage.graph import Node
from falaj.lineage.tables import lineage_edges
from falaj.store.metadata_store import MetadataStore
from falaj.store.prefix import looks_like_prefix

__all__ = ["resolve_node_prefix"]

#: node kinds whose ids are hex (32-character ids or sha256 digests), so prefixes make sense
HEX_KINDS = frozenset({"artifact", "pipeline_run", "step_run", "run"})


def resolve_node_prefix(store: MetadataStore, node: Node) -> Node:
    """``node`` itself, or the one node of its kind in the graph whose id starts with its id.

    Raises :class:`~falaj.errors.InvalidInputError` when several nodes start with it.
    """
    from falaj.errors import InvalidInputError

    ident = node.id.removeprefix("sha256:").lower() if node.kind == "artifact" else node.id
    if node.kind not in HEX_KINDS or not looks_like_prefix(ident):
        return node
    e = lineage_edges
    pattern = ident.replace("_", r"\_").replace("%", r"\%") + "%"
    as_source = sa.select(e.c.source_id.label("id")).where(
        e.c.source_kind == node.kind, e.c.source_id.like(pattern, escape="\\")
    )
    as_target = sa.select(e.c.target_id.label("id")).where(
        e.c.target_kind == node.kind, e.c.target_id.like(pattern, escape="\\")
    )
    with store.read() as conn:
        exact = conn.execute(
            sa.select(sa.literal(1)).where(
                sa.or_(
                    sa.and_(e.c.source_kind == node.kind, e.c.source_id == ident),
                    sa.and_(e.c.target_kind == node.kind, e.c.target_id == ident),
                )
            )
        ).first()
        if exact is not None:
            return Node(node.kind, ident)
        found = sorted(set(conn.execute(sa.union(as_source, as_target).limit(6)).scalars()))
    if len(found) > 1:
        raise InvalidInputError(
            f"lineage node {node} is ambiguous: {len(found)} {node.kind} ids start with "
            f"{ident!r} ({', '.join(v[:16] for v in found[:5])}); give more characters"
        )
    return Node(node.kind, found[0]) if found else node
