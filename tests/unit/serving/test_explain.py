"""``/explain`` on a real in-process server: per-row contributions from the training area's
explainer over a background dataset, or a 501 that says how to enable it."""

from __future__ import annotations

import httpx
import pytest

from falaj.serving.server import ServerThread, ServeSpec, build_serving_app
from falaj.workspace import Workspace
from tests.serving_support import MODEL, frame, register

pytestmark = pytest.mark.slow


def test_explain_returns_contributions_per_row(ws: Workspace) -> None:
    version = register(ws)
    x, _ = frame(100)
    ws.datasets.register("background", x)
    ws.serving.create_deployment("credit", f"{MODEL}/{version}")
    spec = ServeSpec(deployment="credit", explain_background="background")
    with ServerThread(build_serving_app(ws.serving, spec)) as server:
        r = httpx.post(f"{server.url}/explain", json=x.head(2).to_dict("records"), timeout=60)
    assert r.status_code == 200, r.text
    rows = r.json()["contributions"]
    assert len(rows) == 2 and set(rows[0]) == {"income", "debt"}
    assert all(isinstance(v, float) for v in rows[0].values())


def test_explain_without_a_background_is_501_naming_the_option(ws: Workspace) -> None:
    version = register(ws)
    ws.serving.create_deployment("credit", f"{MODEL}/{version}")
    with ServerThread(build_serving_app(ws.serving, ServeSpec(deployment="credit"))) as server:
        r = httpx.post(f"{server.url}/explain", json=[{"income": 1.0, "debt": 2.0}])
    assert r.status_code == 501 and "--explain-background" in r.json()["error"]
