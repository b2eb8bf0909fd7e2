"""`falaj server` serves the web UI at /ui, signing people in with the server's own token
checks: the API's tokens open the pages, a revoked one stops working at once."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.server_support import Served, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_server(tmp_path_factory.mktemp("server-ui") / "ws")
    try:
        yield server
    finally:
        server.stop()


def _ui(served: Served, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=f"{served.url}/ui", headers=headers, timeout=60)


def test_api_tokens_open_the_ui_and_a_revoked_one_stops_at_once(served: Served) -> None:
    token = served.user("vera", "viewer")
    with _ui(served, token) as ui:
        page = ui.get("/runs")
        assert page.status_code == 200, page.text[:300]
        assert "vera" in page.text  # signed in as the token's user
    with served.admin() as api:
        (listed,) = [t for t in api.get("/tokens", params={"user": "vera"}).json()]
        assert api.delete(f"/tokens/{listed['id']}").status_code == 200
    with _ui(served, token) as ui:
        assert ui.get("/runs").status_code == 401


def test_the_ui_without_a_credential_sends_people_to_sign_in(served: Served) -> None:
    with _ui(served, None) as ui:
        page = ui.get("/runs", follow_redirects=False)
        assert page.status_code in (302, 303, 307)
        assert "/ui/login" in page.headers["location"]
        assert ui.get("/login").status_code == 200
    with _ui(served, "flj_000000000000_not-a-real-token") as ui:
        assert ui.get("/runs").status_code == 401
