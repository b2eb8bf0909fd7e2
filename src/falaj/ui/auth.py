"""Who is asking: the :class:`Authenticator` seam and the embedded workspace's local one.

The UI never decides identities itself. A token (typed on ``/ui/login`` or sent as
``Authorization: Bearer TOKEN``) goes to an :class:`Authenticator`, which returns the
:class:`~falaj.governance.principal.Principal` it proves or raises
:class:`~falaj.errors.PermissionDeniedError`. ``falaj server`` plugs its API-token/OIDC verifier
in here; ``falaj ui`` on an embedded workspace uses :class:`LocalTokenAuthenticator`: the
workspace owner (the OS user) with a token generated at start and printed once, like Jupyter's.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Protocol

from falaj.governance.principal import Principal
from falaj.ui.errors import InvalidTokenError

__all__ = ["Authenticator", "LocalTokenAuthenticator", "TokenTable"]

_MAX_TOKEN = 4096


class Authenticator(Protocol):
    """Turns a presented token into the principal it proves."""

    def authenticate(self, token: str) -> Principal:
        """The token's principal; raises :class:`~falaj.errors.PermissionDeniedError` when the
        token is unknown, expired or revoked."""


def _check_shape(token: str) -> str:
    if not isinstance(token, str) or not token.strip():
        raise InvalidTokenError("token is empty: paste the token printed when the UI started")
    if len(token) > _MAX_TOKEN:
        raise InvalidTokenError(f"token is {len(token)} characters long: at most {_MAX_TOKEN}")
    return token.strip()


class LocalTokenAuthenticator:
    """The embedded workspace's authenticator: one owner, one secret token for this process.

    The token is generated at start (``secrets.token_urlsafe``) unless given, compared in
    constant time, and proves the workspace owner (by default the OS user running the process,
    who can open the workspace's files anyway).
    """

    def __init__(self, owner: Principal | None = None, token: str | None = None) -> None:
        self._owner = owner or Principal.local()
        self._token = token if token is not None else secrets.token_urlsafe(32)
        if len(self._token) < 16:
            raise InvalidTokenError("the local login token must be at least 16 characters")

    @property
    def token(self) -> str:
        """The token to print once on start (whoever holds it logs in as the owner)."""
        return self._token

    @property
    def owner(self) -> Principal:
        return self._owner

    def authenticate(self, token: str) -> Principal:
        given = _check_shape(token)
        if not hmac.compare_digest(given.encode(), self._token.encode()):
            raise InvalidTokenError("token is not valid for this UI")
        return self._owner


class TokenTable:
    """A fixed table of tokens and the principals they prove (service accounts, tests).

    Tokens are compared in constant time against every entry, so the time taken does not say
    which prefix matched.
    """

    def __init__(self, tokens: Mapping[str, Principal]) -> None:
        for token in tokens:
            if len(token) < 8:
                raise InvalidTokenError("every token in a TokenTable needs at least 8 characters")
        self._tokens = dict(tokens)

    def authenticate(self, token: str) -> Principal:
        given = _check_shape(token).encode()
        found: Principal | None = None
        for known, principal in self._tokens.items():
            if hmac.compare_digest(given, known.encode()):
                found = principal
        if found is None:
            raise InvalidTokenError("token is not valid for this UI")
        return found
