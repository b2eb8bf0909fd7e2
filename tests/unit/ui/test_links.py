"""One stable URL per kind of thing; names are quoted, unknown kinds have no page."""

from __future__ import annotations

from falaj.ui.links import node_href


def test_each_kind_links_to_its_page() -> None:
    assert node_href("/ui", "dataset_version", "credit@3") == "/ui/datasets/credit?version=3"
    assert node_href("/ui", "model_version", "credit-risk/2") == "/ui/models/credit-risk/versions/2"
    assert node_href("/ui", "run", "abc123") == "/ui/runs/abc123"
    assert node_href("/ui", "deployment", "credit-api") == "/ui/deployments/credit-api"
    assert node_href("", "model", "a b") == "/models/a%20b"


def test_names_cannot_escape_their_path_segment() -> None:
    assert node_href("/ui", "dataset", "../../admin") == "/ui/datasets/..%2F..%2Fadmin"
    assert node_href("/ui", "run", "a/b?c") == "/ui/runs/a%2Fb%3Fc"


def test_malformed_ids_and_unknown_kinds_have_no_page() -> None:
    assert node_href("/ui", "dataset_version", "credit") is None
    assert node_href("/ui", "model_version", "credit/x") is None
    assert node_href("/ui", "prediction", "p1") is None
