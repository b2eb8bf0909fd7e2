"""``falaj lineage NODE``: how a node is named on the command line."""

from __future__ import annotations

import pytest

from falaj.cli.lineage import lineage_tree, parse_node, resolve_node
from falaj.errors import InvalidInputError
from falaj.lineage import Edge, Node
from falaj.workspace import Workspace

DIGEST = "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (DIGEST, Node("artifact", DIGEST)),
        (f"sha256:{DIGEST.upper()}", Node("artifact", DIGEST)),
        ("credit-risk/3", Node("model_version", "credit-risk/3")),
        ("german_credit@2", Node("dataset_version", "german_credit@2")),
        ("pipeline_run:abc", Node("pipeline_run", "abc")),
        ("model_version:credit-risk/3", Node("model_version", "credit-risk/3")),
    ],
)
def test_node_forms_are_recognized(text: str, expected: Node) -> None:
    assert parse_node(text) == expected


def test_unrecognized_node_says_what_is_expected() -> None:
    with pytest.raises(InvalidInputError, match=r"'credit risk' is not recognized.*kind:id"):
        parse_node("credit risk")


def test_a_registered_dataset_name_means_its_latest_version(ws: Workspace) -> None:
    import pandas as pd

    ws.datasets.register("credit", pd.DataFrame({"a": [1, 2]}))
    ws.datasets.register("credit", pd.DataFrame({"a": [1, 2, 3]}))
    assert resolve_node(ws, "credit") == Node("dataset_version", "credit@2")
    assert resolve_node(ws, "credit@1") == Node("dataset_version", "credit@1")
    with pytest.raises(InvalidInputError, match="'nope' is not recognized"):
        resolve_node(ws, "nope")


def test_tree_expands_each_node_once() -> None:
    from rich.console import Console

    root = Node("model_version", "m/1")
    run, data = Node("run", "r1"), Node("dataset_version", "d@1")
    step = Node("step_run", "s1")
    edges = [
        Edge(run, root, "produced"),
        Edge(step, root, "produced"),
        Edge(data, run, "input"),
        Edge(data, step, "used"),
        Edge(step, run, "produced"),
    ]
    console = Console(width=200, record=True)
    console.print(lineage_tree(root, edges, upstream=True, title="made from"))
    text = console.export_text()
    assert text.count("dataset_version:d@1") == 2
    assert text.count("step_run:s1") == 2
    assert "(see above)" in text
