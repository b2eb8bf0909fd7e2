"""Session cookies: signed, expiring, tamper-evident; CSRF tokens bound to the session."""

from __future__ import annotations

import datetime as dt

import pytest

from falaj.errors import InvalidInputError, PermissionDeniedError
from falaj.governance.principal import Principal
from falaj.ui.session import SessionSigner

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
SECRET = b"k" * 32


def test_a_cookie_round_trips_the_principal_and_expiry() -> None:
    signer = SessionSigner(SECRET, ttl=dt.timedelta(hours=1))
    bob = Principal("bob", roles=frozenset({"approver", "viewer"}))
    cookie, issued = signer.issue(bob, NOW)
    session = signer.verify(cookie, NOW + dt.timedelta(minutes=59))
    assert session.principal == bob
    assert session.expires_at == NOW + dt.timedelta(hours=1)
    assert session.csrf == issued.csrf and len(session.csrf) >= 24


def test_an_expired_cookie_is_refused() -> None:
    signer = SessionSigner(SECRET, ttl=dt.timedelta(hours=1))
    cookie, _ = signer.issue(Principal("bob"), NOW)
    with pytest.raises(PermissionDeniedError, match="expired"):
        signer.verify(cookie, NOW + dt.timedelta(hours=1))


def test_a_cookie_with_changed_roles_is_refused() -> None:
    signer = SessionSigner(SECRET)
    cookie, _ = signer.issue(Principal("vera", roles=frozenset({"viewer"})), NOW)
    other, _ = signer.issue(Principal("vera", roles=frozenset({"admin"})), NOW)
    forged = other.split(".")[0] + "." + cookie.split(".")[1]
    with pytest.raises(PermissionDeniedError, match="signature"):
        signer.verify(forged, NOW)


def test_a_cookie_signed_with_another_secret_is_refused() -> None:
    cookie, _ = SessionSigner(b"a" * 32).issue(Principal("bob"), NOW)
    with pytest.raises(PermissionDeniedError, match="signature"):
        SessionSigner(b"b" * 32).verify(cookie, NOW)


@pytest.mark.parametrize("cookie", ["", "abc", "a.b.c", "x" * 5000, "e30.e30"])
def test_malformed_cookies_are_refused(cookie: str) -> None:
    with pytest.raises(PermissionDeniedError):
        SessionSigner(SECRET).verify(cookie, NOW)


def test_csrf_token_must_match_the_session() -> None:
    signer = SessionSigner(SECRET)
    _, session = signer.issue(Principal("bob"), NOW)
    _, other = signer.issue(Principal("bob"), NOW)
    assert SessionSigner.csrf_ok(session, session.csrf)
    assert not SessionSigner.csrf_ok(session, other.csrf)
    assert not SessionSigner.csrf_ok(session, "")
    assert not SessionSigner.csrf_ok(session, None)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="at least 32 bytes"):
        SessionSigner(b"short")
