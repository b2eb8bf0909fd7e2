"""Materialization and online reads: TTL on read, incremental runs, online/offline consistency.

Parametrized over SQLite and the real Redis (FALAJ_TEST_REDIS_URL), so the service behaves the
same on both stores.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import pytest

from falaj.errors import BackendUnavailableError
from falaj.features import Entity, FeatureService, FeatureView
from falaj.features.errors import FeatureNotFoundError
from falaj.features.links import FeatureLinks
from falaj.features.online.base import OnlineRow, OnlineStore, open_online_store
from falaj.features.online.sqlite_store import SqliteOnlineStore
from falaj.features.service import FeatureStoreService
from falaj.governance.principal import Principal
from falaj.workspace import Workspace
from tests.unit.features.conftest import Clock, at

Pair = tuple[Workspace, FeatureStoreService]


@pytest.fixture(params=["sqlite", "redis"])
def pair(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[Pair]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    prefix = f"falaj-test-{uuid.uuid4().hex[:12]}:"
    ws = Workspace.init(tmp_path / "ws", principal=Principal("alice"))
    links = FeatureLinks(artifacts=ws.artifacts, datasets=lambda: ws.datasets)
    fs = FeatureStoreService(
        ws.context(),
        links,
        lambda: open_online_store(tmp_path, url, redis_prefix=prefix),
        clock=clock,
    )
    try:
        yield ws, fs
    finally:
        fs.close()
        ws.close()
        if url:
            import redis

            client = redis.Redis.from_url(url)
            keys = list(client.scan_iter(match=f"{prefix}*"))
            if keys:
                client.delete(*keys)
            client.close()


def _events() -> pd.DataFrame:
    rows = [
        (1, at(1), at(1), 10.0, 1),
        (1, at(3), at(3), 30.0, 3),
        (2, at(2), at(2), 200.0, 20),
        (2, at(4), at(8), 400.0, 40),  # late: true at day 4, written at day 8
        (3, at(0), at(0), 3.0, 0),
    ]
    return pd.DataFrame(rows, columns=["customer_id", "event_ts", "loaded_at", "balance", "txns"])


def _setup(ws: Workspace, fs: FeatureStoreService, ttl: str = "3d") -> None:
    ws.datasets.register("cust_events", _events())
    fs.apply(
        [
            Entity("customer", join_keys=["customer_id"]),
            FeatureView(
                "cust_stats",
                entities=["customer"],
                source="cust_events",
                timestamp="event_ts",
                created_timestamp="loaded_at",
                features={"balance": "float64", "txns": "int64"},
                ttl=ttl,
            ),
            FeatureService("credit_model", features=["cust_stats:balance", "cust_stats:txns"]),
        ]
    )


def _clean(values: list[object]) -> list[object]:
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values]


def test_materialized_values_are_read_online_by_entity_id(pair: Pair, clock: Clock) -> None:
    ws, fs = pair
    _setup(ws, fs, ttl="30d")
    [result] = fs.materialize(end=at(9))
    assert result.rows_written == 3 and result.full
    clock.now = at(9)
    out = fs.get_online({"customer_id": [2, 1, 42]}, features=["cust_stats:balance"])
    assert list(out.columns) == ["customer_id", "balance", "cust_stats__fresh"]
    assert _clean(list(out["balance"])) == [400.0, 30.0, None]
    assert list(out["cust_stats__fresh"]) == [True, True, False]


def test_stale_values_read_as_missing_with_the_freshness_flag_false(
    pair: Pair, clock: Clock
) -> None:
    ws, fs = pair
    _setup(ws, fs, ttl="3d")
    fs.materialize(
        end=at(5)
    )  # customer 1: day 3 (fresh until day 6); 2: day 2 (day 4 not yet written)
    clock.now = at(5)
    out = fs.get_online({"customer_id": [1, 2]}, features="credit_model")
    assert _clean(list(out["balance"])) == [30.0, 200.0]
    clock.now = at(5, 12)  # customer 2's day-2 value is now 3.5 days old
    out = fs.get_online({"customer_id": [1, 2]}, features="credit_model")
    assert _clean(list(out["balance"])) == [30.0, None]
    assert list(out["cust_stats__fresh"]) == [True, False]
    clock.now = at(7)
    out = fs.get_online({"customer_id": [1]}, features="credit_model")
    assert _clean(list(out["balance"])) == [None]


def test_online_matches_offline_for_the_same_time(pair: Pair, clock: Clock) -> None:
    ws, fs = pair
    _setup(ws, fs, ttl="3d")
    for day in (2, 5, 9):
        fs.materialize(end=at(day), full=True)
        clock.now = at(day)
        ids = [1, 2, 3, 4]
        online = fs.get_online({"customer_id": ids}, features="credit_model")
        entity = pd.DataFrame({"customer_id": ids, "event_timestamp": [at(day)] * 4})
        offline = fs.get_historical(entity, features="credit_model")
        assert _clean(list(online["balance"])) == _clean(list(offline["balance"])), day
        assert _clean(list(online["txns"])) == _clean(
            [None if pd.isna(v) else int(v) for v in offline["txns"]]
        ), day


def test_incremental_run_writes_only_new_rows_and_picks_up_late_ones(
    pair: Pair, clock: Clock
) -> None:
    ws, fs = pair
    _setup(ws, fs, ttl="30d")
    first = fs.materialize(end=at(5))[0]
    assert first.rows_written == 3
    second = fs.materialize(end=at(9))[0]
    # only customer 2's late day-4 row was written after day 5
    assert (second.full, second.since, second.rows_written) == (False, at(5), 1)
    clock.now = at(9)
    out = fs.get_online({"customer_id": [2]}, features=["cust_stats:balance"])
    assert _clean(list(out["balance"])) == [400.0]
    assert fs.materialize(end=at(9))[0].rows_written == 0  # nothing new: a no-op
    [fresh] = fs.freshness()
    assert (fresh.view, fresh.watermark, fresh.rows_written) == ("cust_stats", at(9), 4)
    assert not fresh.stale


def test_a_new_view_version_rematerializes_from_scratch(pair: Pair, clock: Clock) -> None:
    ws, fs = pair
    _setup(ws, fs, ttl="30d")
    fs.materialize(end=at(9))
    fs.apply(
        [
            FeatureView(
                "cust_stats",
                entities=["customer"],
                source="cust_events",
                timestamp="event_ts",
                created_timestamp="loaded_at",
                features={"balance": "float64"},  # txns dropped: a new version
                ttl="30d",
            )
        ]
    )
    [result] = fs.materialize(end=at(9))
    assert result.full and result.view_version == 2 and result.rows_written == 3


def test_lookup_fetches_a_feature_services_values_by_key(pair: Pair, clock: Clock) -> None:
    ws, fs = pair
    _setup(ws, fs, ttl="30d")
    fs.materialize(end=at(9))
    clock.now = at(9)
    lookup = fs.lookup("credit_model")
    assert lookup.join_keys == ["customer_id"]
    assert lookup({"customer_id": 1}) == {"balance": 30.0, "txns": 3, "cust_stats__fresh": True}
    many = lookup.many({"customer_id": [3, 99]})
    assert many == {"balance": [3.0, None], "txns": [0, None], "cust_stats__fresh": [True, False]}


def test_unknown_feature_is_a_clear_error(pair: Pair) -> None:
    ws, fs = pair
    _setup(ws, fs)
    with pytest.raises(FeatureNotFoundError, match=r"cust_stats:nope.*has balance, txns"):
        fs.get_online({"customer_id": [1]}, features=["cust_stats:nope"])
    with pytest.raises(FeatureNotFoundError, match="feature service 'nope'"):
        fs.get_online({"customer_id": [1]}, features="nope")


def test_materialize_defaults_to_the_clock(pair: Pair, clock: Clock) -> None:
    ws, fs = pair
    _setup(ws, fs, ttl="30d")
    clock.now = at(6)
    [result] = fs.materialize()
    assert result.end == at(6)
    assert isinstance(result.end, dt.datetime)


def test_online_reads_see_a_new_definition_applied_here_at_once(pair: Pair, clock: Clock) -> None:
    ws, fs = pair
    _setup(ws, fs, ttl="30d")
    fs.materialize(end=at(9))
    clock.now = at(9)
    assert _clean(list(fs.get_online({"customer_id": [1]}, "credit_model")["balance"])) == [30.0]
    fs.apply([FeatureService("credit_model", features=["cust_stats:txns"])])
    out = fs.get_online({"customer_id": [1]}, "credit_model")
    assert "balance" not in out.columns and list(out["txns"]) == [3]


def test_redis_url_setting_selects_redis_with_a_prefix_per_workspace(
    tmp_path: Path, redis_url: str
) -> None:
    import redis

    with Workspace.init(tmp_path / "ws", principal=Principal("alice"), redis_url=redis_url) as ws:
        store = ws.features.online_store
        assert store.kind == "redis"
        store.write("v", [("1", 1.0, b"x")])
        client = redis.Redis.from_url(redis_url)
        try:
            assert client.exists(f"falaj:{ws.id}:v:1") == 1
        finally:
            client.delete(f"falaj:{ws.id}:v:1")
            client.close()


def test_embedded_default_is_sqlite_in_the_workspace_folder(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws", principal=Principal("alice")) as ws:
        assert ws.features.online_store.kind == "sqlite"
        assert (tmp_path / "ws" / "online.db").is_file()


class _FailsOnSecondBatch:
    """The real SQLite store, with an outage injected on the second batch write."""

    def __init__(self, inner: OnlineStore) -> None:
        self.inner = inner
        self.writes = 0
        self.kind = inner.kind

    def write(self, view: str, rows: Sequence[OnlineRow]) -> int:
        self.writes += 1
        if self.writes == 2:
            raise BackendUnavailableError("injected outage")
        return self.inner.write(view, rows)

    def read(self, view: str, keys: Sequence[str]) -> dict[str, tuple[float, bytes]]:
        return self.inner.read(view, keys)

    def drop_view(self, view: str) -> None:
        self.inner.drop_view(view)

    def close(self) -> None:
        self.inner.close()


def test_a_materialization_that_fails_part_way_keeps_its_watermark_and_resumes(
    tmp_path: Path, clock: Clock
) -> None:
    ws = Workspace.init(tmp_path / "ws", principal=Principal("alice"))
    flaky = _FailsOnSecondBatch(SqliteOnlineStore(tmp_path / "online.db"))
    links = FeatureLinks(artifacts=ws.artifacts, datasets=lambda: ws.datasets)
    fs = FeatureStoreService(ws.context(), links, lambda: flaky, clock=clock)
    try:
        _setup(ws, fs, ttl="30d")
        with pytest.raises(BackendUnavailableError, match="injected"):
            fs.materialize(end=at(9), batch_rows=1)
        [fresh] = fs.freshness()
        assert fresh.watermark is None and fresh.stale  # the failed run recorded nothing
        [result] = fs.materialize(end=at(9), batch_rows=1)  # run again: it resumes
        assert result.rows_written == 3
        clock.now = at(9)
        out = fs.get_online({"customer_id": [1, 2, 3]}, features=["cust_stats:balance"])
        assert _clean(list(out["balance"])) == [30.0, 400.0, 3.0]
    finally:
        fs.close()
        ws.close()
