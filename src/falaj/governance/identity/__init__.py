"""Identity: users and service accounts, role bindings, API tokens, OIDC bearer tokens, and the
failed-authentication rate limit (``ws.identity`` is :class:`IdentityService`)."""

from falaj.governance.identity.errors import (
    AuthenticationError,
    RateLimitedError,
    TokenNotFoundError,
    UserExistsError,
    UserNotFoundError,
)
from falaj.governance.identity.oidc import OIDCConfig, OIDCVerifier, looks_like_jwt
from falaj.governance.identity.principals import ScopedPrincipal, StoredRoleAuthorizer
from falaj.governance.identity.ratelimit import FailedAuthLimiter
from falaj.governance.identity.service import IdentityService, User
from falaj.governance.identity.tokens import ApiToken, parse_duration

__all__ = [
    "ApiToken",
    "AuthenticationError",
    "FailedAuthLimiter",
    "IdentityService",
    "OIDCConfig",
    "OIDCVerifier",
    "RateLimitedError",
    "ScopedPrincipal",
    "StoredRoleAuthorizer",
    "TokenNotFoundError",
    "User",
    "UserExistsError",
    "UserNotFoundError",
    "looks_like_jwt",
    "parse_duration",
]
