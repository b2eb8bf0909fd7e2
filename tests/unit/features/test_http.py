"""The online lookup endpoint, served by a real uvicorn server on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pandas as pd
import pytest

from falaj.features import Entity, FeatureService, FeatureView
from falaj.features.http import app
from falaj.features.service import FeatureStoreService
from falaj.workspace import Workspace
from tests.unit.features.conftest import Clock, at

Pair = tuple[Workspace, FeatureStoreService]


class _Host:
    """What the app needs: something with ``features``."""

    def __init__(self, fs: FeatureStoreService) -> None:
        self.features = fs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def base_url(fs_ws: Pair, clock: Clock) -> Iterator[str]:
    import uvicorn

    ws, fs = fs_ws
    ws.datasets.register(
        "cust_events",
        pd.DataFrame({"customer_id": [1, 2], "event_ts": [at(1), at(8)], "balance": [10.0, 20.0]}),
    )
    fs.apply(
        [
            Entity("customer", join_keys=["customer_id"]),
            FeatureView(
                "cust_stats",
                entities=["customer"],
                source="cust_events",
                timestamp="event_ts",
                features={"balance": "float64"},
                ttl="3d",
            ),
            FeatureService("credit_model", features=["cust_stats:balance"]),
        ]
    )
    fs.materialize(end=at(9))
    clock.now = at(9)
    port = _free_port()
    config = uvicorn.Config(app(_Host(fs)), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _post(url: str, body: Any) -> httpx.Response:
    return httpx.post(f"{url}/features/online", json=body, timeout=30)


def test_online_lookup_over_http(base_url: str) -> None:
    res = _post(base_url, {"entities": {"customer_id": [2, 1, 7]}, "features": "credit_model"})
    assert res.status_code == 200
    # customer 1's day-1 value is older than the 3-day TTL at day 9: missing, not fresh
    assert res.json() == {
        "columns": {
            "customer_id": [2, 1, 7],
            "balance": [20.0, None, None],
            "cust_stats__fresh": [True, False, False],
        }
    }


def test_bad_requests_get_clear_errors(base_url: str) -> None:
    res = httpx.post(f"{base_url}/features/online", content=b"{nope", timeout=30)
    assert res.status_code == 400 and "not JSON" in res.json()["error"]
    res = _post(base_url, {"features": ["cust_stats:balance"]})
    assert res.status_code == 400 and "entities" in res.json()["error"]
    res = _post(base_url, {"entities": {"customer_id": [1]}, "features": ["cust_stats:nope"]})
    assert res.status_code == 404 and "cust_stats:nope" in res.json()["error"]
    res = _post(base_url, {"entities": {"id": [1]}, "features": ["cust_stats:balance"]})
    assert res.status_code == 400 and "customer_id" in res.json()["error"]


def test_freshness_is_listed(base_url: str) -> None:
    res = httpx.get(f"{base_url}/features/freshness", timeout=30)
    assert res.status_code == 200
    [view] = res.json()["views"]
    assert view["view"] == "cust_stats" and view["ttl"] == "3d" and view["stale"] is False
