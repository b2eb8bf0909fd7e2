"""API token format, hashing and durations (pure functions; storage is in :mod:`.service`).

A token reads ``flj_<id>_<secret>``: ``id`` is 12 hex characters, public, the row's primary key
(shown by ``falaj tokens list``, used to revoke); ``secret`` is 32 random bytes (urlsafe base64).
Only the SHA-256 of the secret is stored: the token is shown once, at creation, and a database
leak gives no usable token (a 256-bit random secret needs no slow hash). Comparison is constant
time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from falaj.errors import InvalidInputError

__all__ = [
    "PREFIX",
    "ApiToken",
    "hash_secret",
    "new_token",
    "parse_duration",
    "parse_token",
    "secret_matches",
]

PREFIX = "flj_"
_ID = re.compile(r"^[0-9a-f]{12}$")
_SECRET = re.compile(r"^[A-Za-z0-9_\-]{43}$")
_DURATION = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_LIFETIME = dt.timedelta(days=3650)


@dataclass(frozen=True)
class ApiToken:
    """A stored token's public facts (never its secret)."""

    id: str
    user: str
    scopes: tuple[str, ...] | None
    description: str | None
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def state(self, now: dt.datetime) -> str:
        """``active``, ``expired`` or ``revoked`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"


def new_token() -> tuple[str, str, str]:
    """A fresh token: ``(token id, full token text, sha256 of its secret)``."""
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return token_id, f"{PREFIX}{token_id}_{secret}", hash_secret(secret)


def parse_token(text: str) -> tuple[str, str] | None:
    """``(id, secret)`` of a well-formed token, else ``None`` (never raises on junk)."""
    if not isinstance(text, str) or not text.startswith(PREFIX) or len(text) > 200:
        return None
    body = text[len(PREFIX) :]
    token_id, sep, secret = body[:12], body[12:13], body[13:]
    if sep != "_" or not _ID.match(token_id) or not _SECRET.match(secret):
        return None
    return token_id, secret


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, stored_sha256: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_sha256)


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``15m``, ``12h``, ``30d``, ``2w`` as a positive duration (at most ten years)."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidInputError(
            f"expires {str(text)[:50]!r} is invalid: expected a number and a unit "
            "(s, m, h, d or w), e.g. '30d' or '12h'"
        )
    delta = dt.timedelta(seconds=int(match[1]) * _UNITS[match[2]])
    if delta <= dt.timedelta(0) or delta > MAX_LIFETIME:
        raise InvalidInputError(
            f"expires {text!r} is invalid: expected more than 0 and at most 3650 days"
        )
    return delta
