"""One contract suite for every online store: SQLite (embedded) and Redis (scale-out).

Redis runs against the real server named by FALAJ_TEST_REDIS_URL (skipped when unset, a failure
in CI); each test uses a key prefix of its own and removes its keys afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from falaj.features.online.base import OnlineStore, open_online_store


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OnlineStore]:
    if request.param == "sqlite":
        made = open_online_store(tmp_path, None)
        yield made
        made.close()
        return
    url: str = request.getfixturevalue("redis_url")
    prefix = f"falaj-test-{uuid.uuid4().hex[:12]}:"
    made = open_online_store(tmp_path, url, redis_prefix=prefix)
    try:
        yield made
    finally:
        import redis

        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        made.close()


def test_store_satisfies_the_protocol(store: OnlineStore) -> None:
    assert isinstance(store, OnlineStore)
    assert store.kind in ("sqlite", "redis")


def test_written_rows_are_read_back_by_key(store: OnlineStore) -> None:
    assert store.write("v", [("1", 100.5, b'{"a":1}'), ("2", 200.0, b'{"a":2}')]) == 2
    assert store.read("v", ["1"]) == {"1": (100.5, b'{"a":1}')}
    assert store.read("v", ["2", "1", "3"]) == {
        "1": (100.5, b'{"a":1}'),
        "2": (200.0, b'{"a":2}'),
    }


def test_absent_keys_are_left_out(store: OnlineStore) -> None:
    store.write("v", [("1", 1.0, b"x")])
    assert store.read("v", ["nope"]) == {}
    assert store.read("v", []) == {}


def test_newer_event_time_wins_and_older_rows_are_ignored(store: OnlineStore) -> None:
    store.write("v", [("k", 200.0, b"new")])
    store.write("v", [("k", 100.0, b"old")])  # a late, older row
    assert store.read("v", ["k"]) == {"k": (200.0, b"new")}
    store.write("v", [("k", 300.0, b"newer")])
    assert store.read("v", ["k"]) == {"k": (300.0, b"newer")}


def test_writing_the_same_rows_twice_is_harmless(store: OnlineStore) -> None:
    rows = [(str(i), float(i), f"p{i}".encode()) for i in range(50)]
    store.write("v", rows)
    store.write("v", rows)
    got = store.read("v", [str(i) for i in range(50)])
    assert got == {k: (ts, p) for k, ts, p in rows}


def test_views_are_separate_and_drop_view_empties_only_one(store: OnlineStore) -> None:
    store.write("a", [("1", 1.0, b"a1")])
    store.write("a_b", [("1", 2.0, b"ab1")])
    assert store.read("a", ["1"]) == {"1": (1.0, b"a1")}
    store.drop_view("a")
    assert store.read("a", ["1"]) == {}
    assert store.read("a_b", ["1"]) == {"1": (2.0, b"ab1")}


def test_many_keys_in_one_read_beyond_one_statement(store: OnlineStore) -> None:
    rows = [(f"k{i}", float(i), str(i).encode()) for i in range(2500)]
    store.write("v", rows)
    got = store.read("v", [f"k{i}" for i in range(0, 2500, 1)])
    assert len(got) == 2500
    assert got["k2499"] == (2499.0, b"2499")


def test_keys_with_separators_and_unicode_round_trip(store: OnlineStore) -> None:
    key = "a\x1fb:ü 1"
    store.write("v", [(key, 5.0, b"\x00\xff")])
    assert store.read("v", [key]) == {key: (5.0, b"\x00\xff")}
