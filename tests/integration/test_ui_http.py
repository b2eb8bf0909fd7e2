"""The UI over real HTTP (uvicorn on a free loopback port, a real workspace): sign-in, session
cookies, redirects, refusals and headers, without a browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from falaj.governance.authorization import Binding, RoleBindingAuthorizer
from falaj.governance.principal import Principal
from falaj.ui import TokenTable, running_ui
from falaj.workspace import Workspace

pytestmark = pytest.mark.slow

ALICE = Principal("alice", roles=frozenset({"data-scientist"}))
VERA = Principal("vera", roles=frozenset({"viewer"}))
TOKENS = {"tok-alice-123456": ALICE, "tok-vera-1234567": VERA}


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[tuple[str, Workspace]]:
    with Workspace.init(tmp_path / "ws", principal=ALICE) as seed:
        seed.artifacts.put_bytes(b"<h1>card</h1><script>alert(1)</script>", media_type="text/html")
    ws = Workspace.open(
        tmp_path / "ws",
        authorizer=RoleBindingAuthorizer(
            [Binding("alice", "data-scientist"), Binding("vera", "viewer")]
        ),
    )
    try:
        with running_ui(ws, TokenTable(TOKENS)) as base:
            yield base, ws
    finally:
        ws.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(base: str, token: str, next_url: str = "/ui/runs") -> httpx.Response:
    form = httpx.get(f"{base}/login", params={"next": next_url})
    nonce = re.search(r'name="login_nonce" value="([^"]+)"', form.text)
    assert nonce is not None
    return httpx.post(
        f"{base}/login",
        data={"token": token, "login_nonce": nonce[1], "next": next_url},
        cookies=form.cookies,
    )


def test_a_page_without_credentials_redirects_to_login(ui: tuple[str, Workspace]) -> None:
    base, _ = ui
    response = httpx.get(f"{base}/runs", params={"filter": "status = 'FINISHED'"})
    assert response.status_code == 303
    assert response.headers["location"] == (
        "/ui/login?next=%2Fui%2Fruns%3Ffilter%3Dstatus%2B%253D%2B%2527FINISHED%2527"
    )


def test_a_refused_bearer_token_is_a_401_page(ui: tuple[str, Workspace]) -> None:
    base, _ = ui
    response = httpx.get(f"{base}/runs", headers=bearer("tok-nobody-12345"))
    assert response.status_code == 401
    assert "token was refused" in response.text and "Traceback" not in response.text


def test_login_sets_a_signed_httponly_strict_cookie(ui: tuple[str, Workspace]) -> None:
    base, _ = ui
    response = sign_in(base, "tok-alice-123456", "/ui/models")
    assert response.status_code == 303 and response.headers["location"] == "/ui/models"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("falaj_ui="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    page = httpx.get(f"{base}/models", cookies={"falaj_ui": response.cookies["falaj_ui"]})
    assert page.status_code == 200
    assert '<strong data-testid="principal">alice</strong>' in page.text
    payload, mac = response.cookies["falaj_ui"].split(".")
    tampered = f"{payload}.{'B' if mac[0] == 'A' else 'A'}{mac[1:]}"
    assert httpx.get(f"{base}/models", cookies={"falaj_ui": tampered}).status_code == 303


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/ui/", "/elsewhere"])
def test_login_never_redirects_off_the_ui(ui: tuple[str, Workspace], target: str) -> None:
    base, _ = ui
    response = sign_in(base, "tok-alice-123456", target)
    assert response.headers["location"] == "/ui/runs"


def test_login_refuses_a_wrong_token_and_a_form_without_its_nonce(
    ui: tuple[str, Workspace],
) -> None:
    base, _ = ui
    wrong = sign_in(base, "tok-alice-000000")
    assert wrong.status_code == 401 and "not valid" in wrong.text
    assert "falaj_ui=" not in " ".join(wrong.headers.get_list("set-cookie"))
    forged = httpx.post(f"{base}/login", data={"token": "tok-alice-123456", "login_nonce": "x"})
    assert forged.status_code == 403


def test_a_viewer_is_refused_the_audit_ledger_by_the_service(ui: tuple[str, Workspace]) -> None:
    base, ws = ui
    response = httpx.get(f"{base}/audit", headers=bearer("tok-vera-1234567"))
    assert response.status_code == 403
    assert "vera may not audit.read" in response.text
    denied = ws.as_principal(Principal("root-check", roles=frozenset({"admin"}))).audit.list(
        principal="vera", outcome="denied"
    )
    assert [(e.action, e.resource_type) for e in denied] == [("audit.read", "audit")]


def test_input_mistakes_are_explained_not_crashed(ui: tuple[str, Workspace]) -> None:
    base, _ = ui
    headers = bearer("tok-alice-123456")
    bad_filter = httpx.get(f"{base}/runs", params={"filter": "metrics.auc >"}, headers=headers)
    assert bad_filter.status_code == 400 and "^" in bad_filter.text
    missing = httpx.get(f"{base}/models/nope/versions/3", headers=headers)
    assert missing.status_code == 404 and "nope" in missing.text
    per = httpx.get(f"{base}/runs", params={"per": "7"}, headers=headers)
    assert per.status_code == 400 and "per &#39;7&#39; is invalid" in per.text


def test_pages_and_artifacts_carry_strict_security_headers(ui: tuple[str, Workspace]) -> None:
    base, ws = ui
    headers = bearer("tok-alice-123456")
    page = httpx.get(f"{base}/datasets", headers=headers)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    digest = ws.as_principal(ALICE).artifacts.list()[0].digest
    card = httpx.get(f"{base}/artifacts/{digest}", headers=headers)
    assert card.status_code == 200 and card.content.startswith(b"<h1>card</h1>")
    assert card.headers["content-security-policy"].startswith("sandbox;")


def test_deployments_page_says_serving_is_not_enabled(ui: tuple[str, Workspace]) -> None:
    base, _ = ui
    page = httpx.get(f"{base}/deployments/credit-api", headers=bearer("tok-vera-1234567"))
    assert page.status_code == 404
    assert "Serving is not enabled in this workspace" in page.text
