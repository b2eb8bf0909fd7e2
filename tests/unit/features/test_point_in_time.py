"""Point-in-time correctness of get_historical on hand-built cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from falaj.errors import InvalidInputError
from falaj.features import Entity, FeatureView
from falaj.features.service import FeatureStoreService
from falaj.workspace import Workspace
from tests.unit.features.conftest import at

Pair = tuple[Workspace, FeatureStoreService]


def _events(created: bool = False) -> pd.DataFrame:
    rows = [
        # customer, event time, created time, balance, txn count
        (1, at(1), at(1), 10.0, 1),
        (1, at(3), at(3), 30.0, 3),
        (1, at(5), at(5), 50.0, 5),
        (2, at(2), at(2), 200.0, 20),
        # a late row: true at day 4 but only written at day 8
        (2, at(4), at(8), 400.0, 40),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "event_ts", "loaded_at", "balance", "txns"])
    return frame if created else frame.drop(columns=["loaded_at"])


def _apply(fs: FeatureStoreService, *, ttl: str | None = "7d", created: bool = False) -> None:
    fs.apply(
        [
            Entity("customer", join_keys=["customer_id"]),
            FeatureView(
                "cust_stats",
                entities=["customer"],
                source="cust_events",
                timestamp="event_ts",
                created_timestamp="loaded_at" if created else None,
                features={"balance": "float64", "txns": "int64"},
                ttl=ttl,
            ),
        ]
    )


def _entities(rows: list[tuple[int, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "event_timestamp"])


def _balances(frame: pd.DataFrame) -> list[float | None]:
    return [
        None if (v is None or (isinstance(v, float) and math.isnan(v))) else v
        for v in frame["balance"]
    ]


def test_latest_value_at_or_before_the_entity_time_is_returned(fs_ws: Pair) -> None:
    ws, fs = fs_ws
    ws.datasets.register("cust_events", _events())
    _apply(fs, ttl=None)
    entity = _entities([(1, at(0)), (1, at(1)), (1, at(2)), (1, at(4, 12)), (1, at(9)), (2, at(3))])
    out = fs.get_historical(entity, features=["cust_stats:balance", "cust_stats:txns"])
    # before any event: null; exactly at day 1: day 1's value (equality counts); between: latest
    assert _balances(out) == [None, 10.0, 10.0, 30.0, 50.0, 200.0]
    assert list(out["txns"].astype("Int64").astype(object).where(out["txns"].notna(), None)) == [
        None,
        1,
        1,
        3,
        5,
        20,
    ]


def test_every_entity_row_is_kept_in_order_with_nulls_where_nothing_matched(fs_ws: Pair) -> None:
    ws, fs = fs_ws
    ws.datasets.register("cust_events", _events())
    _apply(fs, ttl=None)
    entity = _entities([(99, at(5)), (2, at(9)), (1, at(0)), (1, at(9)), (99, at(1))])
    entity["label"] = [1, 0, 1, 0, 1]
    out = fs.get_historical(entity, features=["cust_stats:balance"])
    assert len(out) == 5
    assert list(out["customer_id"]) == [99, 2, 1, 1, 99]
    assert list(out["label"]) == [1, 0, 1, 0, 1]
    assert _balances(out) == [None, 400.0, None, 50.0, None]


def test_values_older_than_the_ttl_are_null(fs_ws: Pair) -> None:
    ws, fs = fs_ws
    ws.datasets.register("cust_events", _events())
    _apply(fs, ttl="2d")
    # customer 1's last event is day 5: visible until day 7 inclusive, expired after
    entity = _entities([(1, at(6)), (1, at(7)), (1, at(7, 1)), (1, at(4))])
    out = fs.get_historical(entity, features=["cust_stats:balance"])
    assert _balances(out) == [50.0, 50.0, None, 30.0]


def test_a_row_created_after_the_entity_time_is_not_visible(fs_ws: Pair) -> None:
    ws, fs = fs_ws
    ws.datasets.register("cust_events", _events(created=True))
    _apply(fs, ttl=None, created=True)
    # customer 2's day-4 value was only written at day 8
    entity = _entities([(2, at(5)), (2, at(7, 23)), (2, at(8)), (2, at(9))])
    out = fs.get_historical(entity, features=["cust_stats:balance"])
    assert _balances(out) == [200.0, 200.0, 400.0, 400.0]


def test_late_row_with_an_older_event_time_does_not_hide_a_newer_value(fs_ws: Pair) -> None:
    ws, fs = fs_ws
    events = pd.DataFrame(
        [
            (1, at(5), at(5), 50.0, 5),
            (1, at(2), at(7), 20.0, 2),  # a correction for day 2 arriving at day 7
        ],
        columns=["customer_id", "event_ts", "loaded_at", "balance", "txns"],
    )
    ws.datasets.register("cust_events", events)
    _apply(fs, ttl=None, created=True)
    entity = _entities([(1, at(3)), (1, at(6)), (1, at(8))])
    out = fs.get_historical(entity, features=["cust_stats:balance"])
    # day 3: nothing visible yet (the day-2 row is written at day 7); after: day 5 stays latest
    assert _balances(out) == [None, 50.0, 50.0]


def test_entity_timestamps_with_a_time_zone_are_compared_in_utc(fs_ws: Pair) -> None:
    ws, fs = fs_ws
    ws.datasets.register("cust_events", _events())
    _apply(fs, ttl=None)
    local = pd.Timestamp(at(3)).tz_convert("Asia/Dubai")  # the same instant, UTC+4
    entity = pd.DataFrame({"customer_id": [1], "event_timestamp": [local]})
    out = fs.get_historical(entity, features=["cust_stats:balance"])
    assert _balances(out) == [30.0]


def test_small_chunks_give_the_same_answer(fs_ws: Pair) -> None:
    ws, fs = fs_ws
    ws.datasets.register("cust_events", _events(created=True))
    _apply(fs, created=True)
    entity = _entities([(c, at(d)) for d in range(10) for c in (1, 2, 3)])
    whole = fs.get_historical(entity, features=["cust_stats:balance"])
    chunked = fs.get_historical(entity, features=["cust_stats:balance"], chunk_rows=4)
    pd.testing.assert_frame_equal(whole, chunked)


def test_missing_join_key_column_is_a_clear_error(fs_ws: Pair) -> None:
    ws, fs = fs_ws
    ws.datasets.register("cust_events", _events())
    _apply(fs)
    entity = pd.DataFrame({"id": [1], "event_timestamp": [at(1)]})
    with pytest.raises(InvalidInputError, match=r"lacks join key column.*customer_id"):
        fs.get_historical(entity, features=["cust_stats:balance"])


def test_result_registered_as_dataset_has_lineage_to_the_view_version(fs_ws: Pair) -> None:
    ws, fs = fs_ws
    ws.datasets.register("cust_events", _events())
    _apply(fs)
    entity = _entities([(1, at(4)), (2, at(4))])
    fs.get_historical(entity, features=["cust_stats:balance"], register_as="training_set")
    version = ws.datasets.get("training_set")
    assert version.row_count == 2
    from falaj.lineage.graph import Node

    edges = ws.lineage.upstream(Node("dataset_version", version.id))
    found = {(str(e.source), e.relation, str(e.target)) for e in edges}
    assert ("feature_view:cust_stats@1", "features_of", f"dataset_version:{version.id}") in found
    assert ("dataset_version:cust_events@1", "source_of", "feature_view:cust_stats@1") in found


def test_two_views_with_the_same_feature_name_get_prefixed_columns(fs_ws: Pair) -> None:
    ws, fs = fs_ws
    ws.datasets.register("cust_events", _events())
    _apply(fs, ttl=None)
    fs.apply(
        [
            FeatureView(
                "cust_recent",
                entities=["customer"],
                source="cust_events",
                timestamp="event_ts",
                features={"balance": "float64"},
                ttl="1d",
            )
        ]
    )
    entity = _entities([(1, at(4, 1)), (1, at(5, 12))])  # day 3 is 25 h old at the first
    out = fs.get_historical(entity, features=["cust_stats:balance", "cust_recent:balance"])
    assert list(out.columns) == [
        "customer_id",
        "event_timestamp",
        "cust_stats__balance",
        "cust_recent__balance",
    ]
    assert list(out["cust_stats__balance"]) == [30.0, 50.0]
    assert _balances(out.rename(columns={"cust_recent__balance": "balance"})) == [None, 50.0]


def test_an_empty_entity_frame_gives_an_empty_result_with_the_feature_columns(
    fs_ws: Pair,
) -> None:
    ws, fs = fs_ws
    ws.datasets.register("cust_events", _events())
    _apply(fs)
    entity = _entities([]).astype(
        {"customer_id": "int64", "event_timestamp": "datetime64[ns, UTC]"}
    )
    out = fs.get_historical(entity, features=["cust_stats:balance"])
    assert len(out) == 0 and list(out.columns) == ["customer_id", "event_timestamp", "balance"]
