"""OIDC/JWT bearer tokens from an enterprise identity provider.

A token is accepted when its signature verifies against the configured JWKS (a file, or an
``https://`` URL fetched with httpx and cached for ``cache_seconds``; an unknown ``kid`` refetches
once, at most every ``min_refetch_seconds``), its ``iss`` and ``aud`` match, and ``exp``/``nbf``
hold at the injected clock (with ``leeway``). Only asymmetric algorithms are accepted (never
``none`` or HMAC, which would let a public key be used as a shared secret). The user name comes
from ``username_claim`` (then ``sub``); roles from the ``groups_claim`` through ``group_roles``.
A group with no mapping grants nothing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from falaj.errors import BackendUnavailableError, ConfigError, InvalidInputError
from falaj.governance.authorization import BUILTIN_ROLES
from falaj.governance.identity.errors import AuthenticationError
from falaj.governance.identity.principals import ScopedPrincipal

__all__ = ["OIDCConfig", "OIDCVerifier", "looks_like_jwt"]

_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


def looks_like_jwt(text: str) -> bool:
    return text.count(".") == 2 and text.startswith("eyJ")


@dataclass(frozen=True)
class OIDCConfig:
    """Where keys come from and what a token must say."""

    issuer: str
    audience: str
    jwks: str  # a file path or an http(s) URL
    groups_claim: str = "groups"
    username_claim: str = "preferred_username"
    group_roles: Mapping[str, Sequence[str]] = field(default_factory=dict)
    leeway_seconds: float = 30.0
    cache_seconds: float = 300.0
    min_refetch_seconds: float = 30.0

    def __post_init__(self) -> None:
        for name in ("issuer", "audience", "jwks"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"OIDC {name} {value!r} is invalid: expected non-empty text")
        for group, roles in self.group_roles.items():
            for role in roles:
                if role not in BUILTIN_ROLES:
                    raise ConfigError(
                        f"OIDC group {group!r} maps to role {role!r}, which is unknown: "
                        f"expected one of {', '.join(BUILTIN_ROLES)}"
                    )

    @staticmethod
    def parse_group_roles(items: Sequence[str]) -> dict[str, list[str]]:
        """``["ml-team=data-scientist", "ops=ml-engineer"]`` as a mapping."""
        out: dict[str, list[str]] = {}
        for item in items:
            group, sep, role = item.partition("=")
            if not sep or not group.strip() or not role.strip():
                raise InvalidInputError(
                    f"group mapping {item!r} is invalid: expected GROUP=ROLE, e.g. ml=viewer"
                )
            out.setdefault(group.strip(), []).append(role.strip())
        return out


class OIDCVerifier:
    """Verifies bearer JWTs against one identity provider's keys (thread-safe)."""

    def __init__(self, config: OIDCConfig, *, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None

    @property
    def config(self) -> OIDCConfig:
        return self._config

    def _load_jwks(self) -> dict[str, Any]:
        source = self._config.jwks
        try:
            if source.startswith(("http://", "https://")):
                import httpx

                response = httpx.get(source, timeout=10.0)
                response.raise_for_status()
                data = response.json()
            else:
                data = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BackendUnavailableError(f"OIDC JWKS {source!r} could not be read: {exc}") from exc
        except Exception as exc:  # httpx errors
            raise BackendUnavailableError(
                f"OIDC JWKS {source!r} could not be fetched: {exc}"
            ) from exc
        import jwt

        try:
            keyset = jwt.PyJWKSet.from_dict(data)
        except jwt.PyJWTError as exc:
            raise BackendUnavailableError(f"OIDC JWKS {source!r} is invalid: {exc}") from exc
        return {k.key_id: k for k in keyset.keys if k.key_id}

    def _key(self, kid: str) -> Any:
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at > self._config.cache_seconds
            may_refetch = (
                self._fetched_at is None
                or now - self._fetched_at >= self._config.min_refetch_seconds
            )
            if stale or (kid not in self._keys and may_refetch):
                self._keys = self._load_jwks()
                self._fetched_at = now
            key = self._keys.get(kid)
        if key is None:
            raise AuthenticationError("invalid token: signed by an unknown key")
        return key

    def verify(self, token: str) -> ScopedPrincipal:
        """The principal a valid token proves; :class:`AuthenticationError` otherwise."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationError("invalid token: not a well-formed JWT") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in _ALGORITHMS or not isinstance(kid, str):
            raise AuthenticationError("invalid token: unsupported algorithm or no key id")
        key = self._key(kid)
        cfg = self._config
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=cfg.audience,
                issuer=cfg.issuer,
                options={
                    "require": ["exp", "iss", "aud"],
                    "verify_exp": False,  # judged below against the injected clock
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidAudienceError:
            raise AuthenticationError("invalid token: wrong audience") from None
        except jwt.InvalidIssuerError:
            raise AuthenticationError("invalid token: wrong issuer") from None
        except jwt.PyJWTError:
            raise AuthenticationError("invalid token: signature or claims do not verify") from None
        now = self._clock()
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if not isinstance(exp, int | float) or now > exp + cfg.leeway_seconds:
            raise AuthenticationError("invalid token: expired")
        if isinstance(nbf, int | float) and now + cfg.leeway_seconds < nbf:
            raise AuthenticationError("invalid token: not valid yet")
        name = claims.get(cfg.username_claim) or claims.get("sub")
        groups = claims.get(cfg.groups_claim) or []
        if isinstance(groups, str):
            groups = [groups]
        roles = {
            role
            for group in groups
            if isinstance(group, str)
            for role in cfg.group_roles.get(group, ())
        }
        try:
            return ScopedPrincipal(str(name), "user", roles=frozenset(roles))
        except InvalidInputError:
            raise AuthenticationError("invalid token: the user name claim is unusable") from None
