"""``falaj users`` and ``falaj tokens`` on the workspace directly (the owner's bootstrap)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from falaj.workspace import Workspace
from tests.e2e.conftest import run_falaj

pytestmark = pytest.mark.slow


def test_bootstrap_users_and_tokens_from_the_cli(tmp_path: Path) -> None:
    home = str(tmp_path / "ws")
    assert run_falaj("init", home).code == 0
    created = run_falaj("--home", home, "users", "create", "alice", "--role", "admin")
    assert created.code == 0, created.err
    assert "created user alice (admin on everything)" in created.out
    scoped = run_falaj(
        "--home", home, "users", "create", "ci", "--role", "data-scientist", "--service"
    )
    assert scoped.code == 0, scoped.err
    token = run_falaj("--home", home, "tokens", "create", "--user", "ci", "--expires", "12h")
    assert token.code == 0, token.err
    text = token.out.strip()
    assert text.startswith("flj_") and "not shown again" in token.err
    listed = run_falaj("--home", home, "tokens", "list", "--json")
    tokens = json.loads(listed.out)
    assert [(t["user"], t["state"]) for t in tokens] == [("ci", "active")]
    assert text not in listed.out
    with Workspace.open(home) as ws:
        assert ws.identity.authenticate(text).name == "ci"
    revoked = run_falaj("--home", home, "tokens", "revoke", tokens[0]["id"])
    assert revoked.code == 0 and "revoked token" in revoked.out
    assert run_falaj("--home", home, "users", "deactivate", "ci").code == 0
    users = json.loads(run_falaj("--home", home, "users", "list", "--json").out)
    assert {u["name"]: u["active"] for u in users} == {"alice": True, "ci": False}
    assert users[1]["kind"] == "service"


def test_identity_mistakes_are_one_clear_line(tmp_path: Path) -> None:
    home = str(tmp_path / "ws")
    run_falaj("init", home)
    bad_role = run_falaj("--home", home, "users", "create", "bob", "--role", "root")
    assert bad_role.code == 2 and "role 'root' is unknown" in bad_role.err
    assert "Traceback" not in bad_role.err
    run_falaj("--home", home, "users", "create", "bob", "--role", "viewer")
    bad_expiry = run_falaj("--home", home, "tokens", "create", "--user", "bob", "--expires", "1y")
    assert bad_expiry.code == 2 and "expires '1y' is invalid" in bad_expiry.err
    nobody = run_falaj("--home", home, "tokens", "create", "--user", "nobody")
    assert nobody.code == 3 and "user 'nobody' does not exist" in nobody.err
    no_server = run_falaj("login", "--token", "x")
    assert no_server.code == 2 and "falaj login needs a server" in no_server.err
