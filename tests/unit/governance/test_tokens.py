"""API tokens: format, hashing, lifecycle (create, use, expire on an injected clock, revoke),
scopes that narrow, users that are deactivated, and bindings read on every decision."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from falaj.errors import InvalidInputError, PermissionDeniedError
from falaj.governance.authorization import Action, Resource
from falaj.governance.context import request_scope
from falaj.governance.identity import (
    AuthenticationError,
    IdentityService,
    StoredRoleAuthorizer,
    UserExistsError,
    UserNotFoundError,
    parse_duration,
)
from falaj.governance.identity.tokens import hash_secret, new_token, parse_token
from falaj.governance.principal import Principal
from falaj.workspace import Workspace

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def identity(ws: Workspace, clock: Clock) -> IdentityService:
    return IdentityService(ws.context(), clock=clock)


def test_token_text_parses_back_to_its_id_and_secret() -> None:
    token_id, text, digest = new_token()
    parsed = parse_token(text)
    assert parsed is not None and parsed[0] == token_id
    assert hash_secret(parsed[1]) == digest


@pytest.mark.parametrize(
    "junk", ["", "flj_", "Bearer x", "flj_zzzzzzzzzzzz_" + "a" * 43, "flj_0123456789ab-" + "a" * 43]
)
def test_malformed_tokens_do_not_parse(junk: str) -> None:
    assert parse_token(junk) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("12h", 43200), ("30d", 2592000), ("2w", 1209600)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "0d", "30", "3y", "-1d", "99999w"])
def test_bad_durations_are_refused_naming_the_value(text: str) -> None:
    with pytest.raises(InvalidInputError, match="expires"):
        parse_duration(text)


def test_only_the_hash_of_the_secret_is_stored(identity: IdentityService, ws: Workspace) -> None:
    identity.create_user("bob", role="viewer")
    info, text = identity.create_token("bob")
    with ws.store.read() as conn:
        rows = [tuple(map(str, r)) for r in conn.execute(sa.text("SELECT * FROM api_tokens"))]
    secret = text.rsplit("_", 1)[-1]
    assert all(secret not in value and text not in value for row in rows for value in row)
    assert info.id in text


def test_token_authenticates_its_user_with_global_roles(identity: IdentityService) -> None:
    identity.create_user("bob", role="approver")
    identity.bind("bob", "viewer", resource="model:credit")
    _, text = identity.create_token("bob")
    principal = identity.authenticate(text)
    assert principal.name == "bob"
    assert principal.roles == frozenset({"approver"})  # the scoped binding stays scoped
    assert principal.scopes is None


def test_token_expires_on_the_injected_clock(identity: IdentityService, clock: Clock) -> None:
    identity.create_user("bob", role="viewer")
    info, text = identity.create_token("bob", expires="1h")
    assert info.expires_at == T0 + dt.timedelta(hours=1)
    clock.now = T0 + dt.timedelta(minutes=59)
    assert identity.authenticate(text).name == "bob"
    clock.now = T0 + dt.timedelta(hours=1)
    with pytest.raises(AuthenticationError):
        identity.authenticate(text)
    assert info.state(clock.now) == "expired"


def test_revoked_token_stops_working_at_once(identity: IdentityService) -> None:
    identity.create_user("bob", role="viewer")
    info, text = identity.create_token("bob")
    identity.authenticate(text)
    revoked = identity.revoke_token(info.id)
    assert revoked.revoked_at == T0
    with pytest.raises(AuthenticationError):
        identity.authenticate(text)


def test_deactivated_user_token_stops_working_and_reactivation_restores_it(
    identity: IdentityService,
) -> None:
    identity.create_user("bob", role="viewer")
    _, text = identity.create_token("bob")
    identity.deactivate("bob")
    with pytest.raises(AuthenticationError):
        identity.authenticate(text)
    identity.set_active("bob", True)
    assert identity.authenticate(text).name == "bob"


def test_wrong_secret_with_a_real_id_is_refused(identity: IdentityService) -> None:
    identity.create_user("bob", role="viewer")
    info, _ = identity.create_token("bob")
    forged = f"flj_{info.id}_{'A' * 43}"
    with pytest.raises(AuthenticationError):
        identity.authenticate(forged)


def test_scopes_narrow_what_a_token_may_do(identity: IdentityService, ws: Workspace) -> None:
    identity.create_user("root", role="admin")
    _, text = identity.create_token("root", scopes=["viewer"])
    principal = identity.authenticate(text)
    assert principal.roles == frozenset()  # admin is outside the token's scopes
    assert principal.scopes == frozenset({"viewer"})
    authorizer = StoredRoleAuthorizer(ws.store)
    authorizer.authorize(principal, Action.RUN_READ, Resource("run", "r1"))
    with pytest.raises(PermissionDeniedError, match="limited to viewer"):
        authorizer.authorize(principal, Action.RUN_CREATE, Resource("run", "r1"))


def test_scopes_must_be_known_roles(identity: IdentityService) -> None:
    identity.create_user("bob", role="viewer")
    with pytest.raises(InvalidInputError, match="role 'god' is unknown"):
        identity.create_token("bob", scopes=["god"])


def test_stored_authorizer_reads_bindings_on_every_decision(
    identity: IdentityService, ws: Workspace
) -> None:
    authorizer = StoredRoleAuthorizer(ws.store)
    carol = Principal("carol")
    resource = Resource("model_version", "credit/1")
    with pytest.raises(PermissionDeniedError):
        authorizer.authorize(carol, Action.MODEL_APPROVE, resource)
    identity.create_user("carol")
    identity.bind("carol", "approver", resource="model:credit")
    authorizer.authorize(carol, Action.MODEL_APPROVE, resource)
    with pytest.raises(PermissionDeniedError):  # another model: not covered
        authorizer.authorize(carol, Action.MODEL_APPROVE, Resource("model_version", "churn/1"))
    identity.unbind("carol", "approver", resource="model:credit")
    with pytest.raises(PermissionDeniedError):
        authorizer.authorize(carol, Action.MODEL_APPROVE, resource)


def test_users_are_unique_and_must_exist(identity: IdentityService) -> None:
    identity.create_user("bob", role="viewer")
    with pytest.raises(UserExistsError):
        identity.create_user("bob")
    with pytest.raises(UserNotFoundError):
        identity.create_token("nobody")
    with pytest.raises(UserNotFoundError):
        identity.deactivate("nobody")


def test_bad_input_changes_nothing(identity: IdentityService, ws: Workspace) -> None:
    before = len(identity.list_users())
    with pytest.raises(InvalidInputError, match="role 'root' is unknown"):
        identity.create_user("eve", role="root")
    with pytest.raises(InvalidInputError, match="resource"):
        identity.create_user("eve", role="viewer", resource="../etc")
    assert len(identity.list_users()) == before


def test_identity_calls_are_authorized_and_audited(tmp_path: Path) -> None:
    home = tmp_path / "w"
    Workspace.init(home).close()
    with Workspace.open(home) as owner:
        owner.identity.create_user("root", role="admin")
        owner.identity.create_user("vic", role="viewer")
    with Workspace.open(home) as owner:
        settings = owner.settings
    with Workspace.open_for_server(settings, StoredRoleAuthorizer) as server:
        with pytest.raises(PermissionDeniedError, match="no principal"):
            server.identity.list_users()  # no default principal: nothing runs unauthenticated
        with (
            request_scope(principal=Principal("vic")),
            pytest.raises(PermissionDeniedError, match=r"vic may not user\.create"),
        ):
            server.identity.create_user("mallory", role="admin")
    with Workspace.open(home) as owner:
        denied = owner.audit.list(outcome="denied", action="user.create")
        assert [(e.principal, e.resource_id) for e in denied] == [("vic", "mallory")]
        assert [u.name for u in owner.identity.list_users()] == ["root", "vic"]
