"""``falaj lineage NODE``: what made it (upstream) and what used it (downstream)."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import typer
from rich.tree import Tree

from falaj.cli.choices import Direction
from falaj.cli.common import console, open_workspace, print_json

if TYPE_CHECKING:
    from falaj.lineage.graph import Edge, Node
    from falaj.workspace import Workspace

KINDS = (
    "source",
    "dataset_version",
    "artifact",
    "pipeline_run",
    "step_run",
    "run",
    "model_version",
    "deployment",
    "prediction",
)
_HEX64 = re.compile(r"^(sha256:)?[0-9a-fA-F]{64}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_VERSIONED = re.compile(r"^(?P<name>[^@/\s]+)(?P<sep>[@/])(?P<version>\d+)$")


def parse_node(text: str) -> Node:
    """``kind:id``, an artifact digest, ``model/3`` (model version) or ``data@2`` (dataset)."""
    from falaj.errors import InvalidInputError
    from falaj.lineage.graph import Node

    value = text.strip()
    if _HEX64.match(value) or value.startswith("sha256:"):
        return Node("artifact", value.split(":")[-1].lower())
    kind, sep, ident = value.partition(":")
    if sep and kind in KINDS:
        return Node(kind, ident)
    match = _VERSIONED.match(value)
    if match:
        kind = "dataset_version" if match["sep"] == "@" else "model_version"
        return Node(kind, value)
    raise InvalidInputError(
        f"lineage node {text!r} is not recognized; expected kind:id (kinds: {', '.join(KINDS)}), "
        "an artifact digest, a model version 'name/3', a dataset version 'name@2' or a "
        "registered dataset's name (its latest version)"
    )


def resolve_node(ws: Workspace, text: str) -> Node:
    """:func:`parse_node`, plus id prefixes (as list tables print them) and a bare registered
    dataset name meaning its latest version."""
    from falaj.data.errors import DatasetNotFoundError
    from falaj.errors import InvalidInputError
    from falaj.lineage.graph import Node
    from falaj.lineage.lookup import resolve_node_prefix

    try:
        return resolve_node_prefix(ws.store, parse_node(text))
    except InvalidInputError as not_a_node:
        name = text.strip()
        if not _NAME.match(name):
            raise
        try:
            return Node("dataset_version", ws.datasets.get(name).id)
        except DatasetNotFoundError:
            raise not_a_node from None


def _label(node: Node) -> str:
    ident = node.id[:16] + "…" if node.kind == "artifact" else node.id
    return f"[bold]{node.kind}[/]:{ident}"


def lineage_tree(root: Node, edges: list[Edge], *, upstream: bool, title: str) -> Tree:
    children: dict[Node, list[tuple[str, Node]]] = defaultdict(list)
    for e in edges:
        if upstream:
            children[e.target].append((e.relation, e.source))
        else:
            children[e.source].append((e.relation, e.target))
    tree = Tree(f"{title} {_label(root)}")
    expanded: set[Node] = {root}

    def grow(branch: Tree, node: Node) -> None:
        for relation, child in sorted(children.get(node, []), key=lambda c: (c[1].kind, c[1].id)):
            if child in expanded:
                if children.get(child):
                    branch.add(f"[dim]{relation}[/] {_label(child)} [dim](see above)[/]")
                else:
                    branch.add(f"[dim]{relation}[/] {_label(child)}")
                continue
            expanded.add(child)
            grow(branch.add(f"[dim]{relation}[/] {_label(child)}"), child)

    grow(tree, root)
    return tree


def lineage_cmd(
    ctx: typer.Context,
    node: str = typer.Argument(
        ...,
        help="kind:id, an artifact digest, model 'name/3', dataset 'name@2' or a dataset name.",
    ),
    direction: Direction = typer.Option(Direction.both, help="Which way to walk the graph."),
    depth: int = typer.Option(64, min=1, max=64, help="How many edges to follow."),
    as_json: bool = typer.Option(False, "--json", help="Export the graph as JSON."),
) -> None:
    """Print the lineage graph around a node as a tree (or export it as JSON)."""
    with open_workspace(ctx) as ws:
        target = resolve_node(ws, node)
        up = ws.lineage.upstream(target, max_depth=depth) if direction != "down" else []
        down = ws.lineage.downstream(target, max_depth=depth) if direction != "up" else []
    if as_json:
        payload: dict[str, Any] = {
            "node": str(target),
            "upstream": [e.as_dict() for e in up],
            "downstream": [e.as_dict() for e in down],
        }
        nodes = {str(target)} | {str(n) for e in [*up, *down] for n in (e.source, e.target)}
        payload["nodes"] = sorted(nodes)
        print_json(payload)
        return
    if not up and not down:
        console.print(f"no lineage recorded for {target}", highlight=False)
        return
    if direction != "down":
        console.print(lineage_tree(target, up, upstream=True, title="made from ↑"))
    if direction != "up":
        console.print(lineage_tree(target, down, upstream=False, title="used by ↓"))
