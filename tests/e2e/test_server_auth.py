"""Authentication against a real server process: no anonymous access but health, API token
lifecycle (create, use, expire, revoke -> 401 on the next request), deactivated users, scoped
tokens, denied requests audited, request ids, rate-limited failures."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server_support import ADMIN, Served, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # Many tests here fail authentication on purpose from one address: a roomy burst.
    server = start_server(tmp_path_factory.mktemp("server-auth") / "ws", "--auth-burst", "1000")
    try:
        yield server
    finally:
        server.stop()


def test_health_is_the_only_anonymous_endpoint(served: Served) -> None:
    with served.client() as anon:
        assert anon.get("/health").json() == {"status": "ok"}
        for path in (
            "/experiments",
            "/runs",
            "/models",
            "/datasets",
            "/audit",
            "/users",
            "/whoami",
            "/openapi.json",
        ):
            answer = anon.get(path)
            assert answer.status_code == 401, path
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert answer.json()["error"]["type"] == "AuthenticationError"


@pytest.mark.parametrize(
    "header", ["Bearer nope", "Basic cm9vdDpyb290", "Bearer flj_000000000000_" + "A" * 43, "Bearer"]
)
def test_bad_credentials_get_401(served: Served, header: str) -> None:
    with served.client() as anon:
        answer = anon.get("/experiments", headers={"Authorization": header})
    assert answer.status_code == 401
    assert "invalid token" in answer.text or "authentication required" in answer.text


def test_token_lifecycle_create_use_revoke(served: Served) -> None:
    token = served.user("tina", "viewer")
    with served.client(token) as tina:
        me = tina.get("/whoami").json()
        assert me == {"name": "tina", "kind": "user", "roles": ["viewer"], "scopes": None}
        assert tina.get("/experiments").status_code == 200
    with served.admin() as admin:
        listed = admin.get("/tokens", params={"user": "tina"}).json()
        assert [t["user"] for t in listed] == ["tina"]
        assert all(token not in json.dumps(t) for t in listed)  # never the secret again
        revoked = admin.delete(f"/tokens/{listed[0]['id']}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    with served.client(token) as tina:
        assert tina.get("/experiments").status_code == 401  # the very next request


def test_token_expires(served: Served) -> None:
    token = served.user("eddie", "viewer", expires="2s")
    with served.admin() as admin:
        info = admin.get("/tokens", params={"user": "eddie"}).json()[0]
    expires_at = dt.datetime.fromisoformat(info["expires_at"])
    with served.client(token) as eddie:
        if dt.datetime.now(dt.UTC) < expires_at - dt.timedelta(seconds=1):
            assert eddie.get("/experiments").status_code == 200
        while dt.datetime.now(dt.UTC) <= expires_at + dt.timedelta(milliseconds=50):
            time.sleep(0.1)
        assert eddie.get("/experiments").status_code == 401


def test_deactivated_user_is_refused_on_the_next_request(served: Served) -> None:
    token = served.user("dora", "viewer")
    with served.client(token) as dora, served.admin() as admin:
        assert dora.get("/experiments").status_code == 200
        assert admin.post("/users/dora/deactivate").json()["active"] is False
        assert dora.get("/experiments").status_code == 401
        admin.post("/users/dora/activate")
        assert dora.get("/experiments").status_code == 200


def test_scoped_token_narrows_an_admin_to_reading(served: Served) -> None:
    with served.admin() as admin:
        answer = admin.post("/tokens", json={"user": ADMIN, "scopes": ["viewer"]})
        scoped = answer.json()["token"]
    with served.client(scoped) as reader:
        assert reader.get("/experiments").status_code == 200
        refused = reader.post("/experiments", json={"name": "scoped-exp"})
        assert refused.status_code == 403
        assert "limited to viewer" in refused.json()["error"]["message"]
        assert reader.get("/users").status_code == 403


def test_forbidden_request_is_audited_as_denied_with_its_request_id(served: Served) -> None:
    token = served.user("vera", "viewer")
    with served.client(token) as vera:
        answer = vera.post(
            "/experiments", json={"name": "not-yours"}, headers={"X-Request-ID": "req-vera-1"}
        )
    assert answer.status_code == 403
    assert answer.headers["x-request-id"] == "req-vera-1"
    with served.admin() as admin:
        events = admin.get("/audit", params={"outcome": "denied", "principal": "vera"}).json()
        assert [(e["action"], e["resource_id"], e["request_id"]) for e in events] == [
            ("experiment.create", "not-yours", "req-vera-1")
        ]
        # where from (AU-3): the client's address, not the server's host name
        assert events[0]["source"] == "127.0.0.1"
        assert admin.get("/experiments/not-yours").status_code == 404  # nothing was created


def test_access_log_is_structured_and_holds_no_secret(served: Served) -> None:
    token = served.user("logan", "viewer")
    with served.client(token) as logan:
        logan.get("/experiments", headers={"X-Request-ID": "req-log-1"})
    deadline = time.monotonic() + 30
    records: list[dict[str, object]] = []
    while time.monotonic() < deadline and not records:
        lines = Path(served.log).read_text().splitlines()
        records = [
            json.loads(line)
            for line in lines
            if line.startswith("{") and '"req-log-1"' in line and "falaj.server.access" in line
        ]
        time.sleep(0.1)
    assert records, "no access log record for the request"
    record = records[0]
    assert record["status"] == 200 and record["principal"] == "logan"
    assert record["path"] == "/api/v1/experiments"
    text = Path(served.log).read_text()
    assert token not in text and served.admin_token not in text


def test_failed_authentication_is_rate_limited_per_source(tmp_path: Path) -> None:
    limited = start_server(tmp_path / "ws", "--auth-burst", "3", "--auth-refill-per-minute", "0.01")
    try:
        with limited.client("flj_bad") as bad:
            assert [bad.get("/experiments").status_code for _ in range(3)] == [401, 401, 401]
            refused = bad.get("/experiments")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        with limited.admin() as admin:  # the source is refused before its credential is read
            assert admin.get("/experiments").status_code == 429
            assert admin.get("/health").status_code == 200
    finally:
        limited.stop()
