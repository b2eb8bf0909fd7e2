"""OIDC bearer tokens on a real server: a locally generated RSA key pair published as a JWKS
file; groups mapped to roles; wrong audience, wrong issuer, expired, unknown kid refused."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.server_support import Served, start_server
from tests.unit.governance.oidc_support import AUDIENCE, ISSUER, LocalIdP

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, LocalIdP]]:
    folder = tmp_path_factory.mktemp("server-oidc")
    idp = LocalIdP(folder)
    server = start_server(
        folder / "ws",
        "--auth-burst",
        "1000",
        "--oidc-issuer",
        ISSUER,
        "--oidc-audience",
        AUDIENCE,
        "--oidc-jwks",
        str(idp.jwks_path),
        "--oidc-group-role",
        "ml-team=data-scientist",
        "--oidc-group-role",
        "risk=approver",
    )
    try:
        yield server, idp
    finally:
        server.stop()


def test_valid_token_groups_become_roles(setup: tuple[Served, LocalIdP]) -> None:
    served, idp = setup
    with served.client(idp.token()) as olivia:
        assert olivia.get("/whoami").json()["roles"] == ["data-scientist"]
        created = olivia.post("/experiments", json={"name": "oidc-exp"})
        assert created.status_code == 201, created.text
        assert created.json()["created_by"] == "olivia"
        assert olivia.get("/audit").status_code == 403  # not an auditor


def test_unmapped_groups_grant_nothing(setup: tuple[Served, LocalIdP]) -> None:
    served, idp = setup
    with served.client(idp.token(preferred_username="gus", groups=["guests"])) as gus:
        assert gus.get("/whoami").json()["roles"] == []
        assert gus.get("/experiments").status_code == 403


@pytest.mark.parametrize(
    ("claims", "kid"),
    [
        ({"aud": "another-app"}, None),
        ({"iss": "https://evil.example.test"}, None),
        ({"exp": int(time.time()) - 3600}, None),
        ({}, "unknown-kid"),
    ],
    ids=["wrong-audience", "wrong-issuer", "expired", "unknown-kid"],
)
def test_invalid_tokens_get_401(
    setup: tuple[Served, LocalIdP], claims: dict[str, object], kid: str | None
) -> None:
    served, idp = setup
    with served.client(idp.token(kid=kid, **claims)) as client:
        answer = client.get("/experiments")
    assert answer.status_code == 401
    assert answer.json()["error"]["message"].startswith("invalid token")


def test_a_deactivated_user_is_refused_even_with_a_valid_oidc_token(
    setup: tuple[Served, LocalIdP],
) -> None:
    served, idp = setup
    with served.admin() as admin:
        assert admin.post("/users", json={"name": "quinn"}).status_code == 201
        admin.post("/users/quinn/deactivate")
    with served.client(idp.token(preferred_username="quinn")) as quinn:
        assert quinn.get("/experiments").status_code == 401
