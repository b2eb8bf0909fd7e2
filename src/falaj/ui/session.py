"""Signed session cookies and CSRF tokens, with the standard library's ``hmac``.

A session cookie holds the principal a token proved (name, kind, roles), when the session
expires, and a random CSRF nonce, as ``base64url(json) "." base64url(HMAC-SHA256)``. The key is
the app's secret (random per process unless given), so a cookie cannot be forged or altered
without it; an expired or altered cookie is refused like none at all. POST forms carry the
session's CSRF token, which an attacker's page cannot read (the cookie is HttpOnly and
SameSite=Strict besides).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from falaj.errors import InvalidInputError
from falaj.governance.principal import Principal
from falaj.ui.errors import InvalidSessionError

__all__ = ["Session", "SessionSigner"]

_MAX_COOKIE = 4096


@dataclass(frozen=True)
class Session:
    """What a valid session cookie says."""

    principal: Principal
    expires_at: dt.datetime
    csrf: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Issues and verifies session cookies under one secret key."""

    def __init__(self, secret: bytes, *, ttl: dt.timedelta = dt.timedelta(hours=8)) -> None:
        if not isinstance(secret, bytes) or len(secret) < 32:
            raise InvalidInputError("session secret is invalid: expected at least 32 bytes")
        if ttl <= dt.timedelta(0):
            raise InvalidInputError(f"session ttl {ttl} is invalid: expected a positive duration")
        self._key = hashlib.sha256(b"falaj.ui.session:" + secret).digest()
        self._ttl = ttl

    @property
    def ttl(self) -> dt.timedelta:
        return self._ttl

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, principal: Principal, now: dt.datetime) -> tuple[str, Session]:
        """A new cookie value for ``principal``, valid for the ttl from ``now``."""
        session = Session(principal, now + self._ttl, secrets.token_urlsafe(24))
        body: dict[str, Any] = {
            "n": principal.name,
            "k": principal.kind,
            "r": sorted(principal.roles),
            "e": int(session.expires_at.timestamp()),
            "c": session.csrf,
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}", session

    def verify(self, cookie: str, now: dt.datetime) -> Session:
        """The session a cookie holds; :class:`InvalidSessionError` when forged or expired."""
        if not cookie or len(cookie) > _MAX_COOKIE or cookie.count(".") != 1:
            raise InvalidSessionError("session cookie is malformed")
        payload, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidSessionError("session cookie signature does not match")
        try:
            body = json.loads(_unb64(payload))
            expires = dt.datetime.fromtimestamp(int(body["e"]), dt.UTC)
            principal = Principal(str(body["n"]), body["k"], frozenset(map(str, body["r"])))
            csrf = str(body["c"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidSessionError(f"session cookie is malformed: {exc}") from None
        if now >= expires:
            raise InvalidSessionError("session expired: log in again")
        return Session(principal, expires, csrf)

    @staticmethod
    def csrf_ok(session: Session, submitted: str | None) -> bool:
        """Whether a submitted form carried the session's CSRF token."""
        return bool(submitted) and hmac.compare_digest(str(submitted), session.csrf)
