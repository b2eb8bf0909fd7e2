"""Definitions: validation, YAML, versioning (a change is a new version, history kept)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from falaj.errors import InvalidInputError
from falaj.features import (
    Entity,
    FeatureDefinitionError,
    FeatureNotFoundError,
    FeatureService,
    FeatureView,
    definitions_from_yaml,
    load_definitions,
)
from falaj.features.definitions import format_ttl, parse_ttl
from falaj.features.service import FeatureStoreService
from falaj.workspace import Workspace
from tests.unit.features.conftest import at

Pair = tuple[Workspace, FeatureStoreService]

YAML = """
entities:
  - {name: customer, join_keys: [customer_id]}
feature_views:
  - name: cust_stats
    entities: [customer]
    source: cust_events
    timestamp: event_ts
    features: {balance: float64, txns: int64}
    ttl: 7d
    owner: risk-team
    classification: confidential
feature_services:
  - {name: credit_model, features: ["cust_stats:balance"]}
"""


def _register(ws: Workspace) -> None:
    ws.datasets.register(
        "cust_events",
        pd.DataFrame(
            {
                "customer_id": [1, 2],
                "event_ts": [at(1), at(2)],
                "balance": [1.0, 2.0],
                "txns": [1, 2],
            }
        ),
    )


def _view(**changes: object) -> FeatureView:
    spec: dict[str, object] = {
        "entities": ["customer"],
        "source": "cust_events",
        "timestamp": "event_ts",
        "features": {"balance": "float64"},
        "ttl": "7d",
    }
    spec.update(changes)
    return FeatureView("cust_stats", **spec)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("7d", 604800), ("12h", 43200), ("30m", 1800), ("45s", 45), ("2w", 1209600)],
)
def test_ttl_spellings(text: str, seconds: int) -> None:
    assert parse_ttl(text) == seconds
    assert parse_ttl(format_ttl(seconds)) == seconds


@pytest.mark.parametrize("bad", ["7 days", "0d", "-1h", "", True, -5])
def test_bad_ttl_names_the_value(bad: object) -> None:
    with pytest.raises(FeatureDefinitionError, match="ttl"):
        parse_ttl(bad)  # type: ignore[arg-type]


def test_bad_fields_name_field_and_value() -> None:
    with pytest.raises(FeatureDefinitionError, match="join_keys 'customer_id'"):
        Entity("customer", join_keys="customer_id")  # type: ignore[arg-type]
    with pytest.raises(FeatureDefinitionError, match=r"feature 'x' type 'decimal'.*float64"):
        _view(features={"x": "decimal"})
    with pytest.raises(FeatureDefinitionError, match="name '1abc'"):
        Entity("1abc", join_keys=["id"])
    with pytest.raises(FeatureDefinitionError, match="'view:feature'"):
        FeatureService("svc", features=["no_colon"])


def test_yaml_definitions_build_the_objects() -> None:
    defs = definitions_from_yaml(YAML)
    assert [d.kind for d in defs] == ["entity", "feature_view", "feature_service"]
    view = defs[1]
    assert isinstance(view, FeatureView)
    assert view.ttl_seconds == 604800 and view.classification == "confidential"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("entities: [", "line"),
        ("- 1\n- 2\n", "not a mapping"),
        ("views: []", "unknown section"),
        ("entities:\n  - {name: c, join_keys: [id], colour: red}", r"entities\[0\].*colour"),
        ("feature_views:\n  - {name: v}", "missing field"),
        ("entities:\n  - {name: c, join_keys: id}", "join_keys"),
        ("", "empty"),
    ],
)
def test_bad_yaml_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(FeatureDefinitionError, match=message):
        definitions_from_yaml(text, source="defs.yaml")


def test_missing_yaml_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FeatureDefinitionError, match="does not exist"):
        load_definitions(tmp_path / "nope.yaml")


def test_apply_from_yaml_then_again_is_a_noop(fs_ws: Pair, tmp_path: Path) -> None:
    ws, fs = fs_ws
    _register(ws)
    path = tmp_path / "defs.yaml"
    path.write_text(YAML)
    first = fs.apply(path)
    assert [r.id for r in first.changed] == ["customer@1", "cust_stats@1", "credit_model@1"]
    again = fs.apply(path)
    assert again.changed == [] and len(again.unchanged) == 3
    assert [r.version for r in fs.history("cust_stats")] == [1]


def test_a_schema_change_makes_a_new_version_and_keeps_history(fs_ws: Pair) -> None:
    ws, fs = fs_ws
    _register(ws)
    fs.apply([Entity("customer", join_keys=["customer_id"]), _view()])
    fs.apply([_view(features={"balance": "float64", "txns": "int64"})])
    history = fs.history("cust_stats")
    assert [r.version for r in history] == [1, 2]
    first, second = (r.definition for r in history)
    assert isinstance(first, FeatureView) and isinstance(second, FeatureView)
    assert list(first.features) == ["balance"]
    assert list(second.features) == ["balance", "txns"]
    assert fs.get("cust_stats").version == 2


def test_apply_refuses_columns_the_source_lacks_and_changes_nothing(fs_ws: Pair) -> None:
    ws, fs = fs_ws
    _register(ws)
    with pytest.raises(FeatureDefinitionError, match="feature 'income' is not a source column"):
        fs.apply(
            [Entity("customer", join_keys=["customer_id"]), _view(features={"income": "float64"})]
        )
    with pytest.raises(
        FeatureDefinitionError, match="declared string but the source column is double"
    ):
        fs.apply(
            [Entity("customer", join_keys=["customer_id"]), _view(features={"balance": "string"})]
        )
    with pytest.raises(FeatureNotFoundError, match="entity 'customer' is not defined"):
        fs.apply([_view()])
    assert fs.list() == []


def test_feature_service_must_reference_defined_features(fs_ws: Pair) -> None:
    ws, fs = fs_ws
    _register(ws)
    with pytest.raises(FeatureNotFoundError, match="'cust_stats:nope' is not defined"):
        fs.apply(
            [
                Entity("customer", join_keys=["customer_id"]),
                _view(),
                FeatureService("svc", features=["cust_stats:nope"]),
            ]
        )


def test_apply_of_100_views_is_one_batched_transaction(fs_ws: Pair) -> None:
    ws, fs = fs_ws
    _register(ws)
    views = [
        FeatureView(
            f"view_{i}",
            entities=["customer"],
            source="cust_events",
            timestamp="event_ts",
            features={"balance": "float64", "txns": "int64"},
            ttl="1d",
        )
        for i in range(100)
    ]
    result = fs.apply([Entity("customer", join_keys=["customer_id"]), *views])
    assert len(result.changed) == 101
    assert len(fs.list("feature_view")) == 100
    # one transaction: one audit event names all 101 new versions
    [event] = ws.audit.list(action="feature.apply")
    assert len(event.details["changed"]) == 101


def test_list_rejects_an_unknown_kind(fs_ws: Pair) -> None:
    _, fs = fs_ws
    with pytest.raises(InvalidInputError, match="kind 'views'"):
        fs.list("views")
