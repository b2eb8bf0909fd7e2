"""Identity errors: subclasses of the one Falaj tree (see :mod:`falaj.errors`)."""

from __future__ import annotations

from falaj.errors import AlreadyExistsError, NotFoundError, PermissionDeniedError

__all__ = [
    "AuthenticationError",
    "RateLimitedError",
    "TokenNotFoundError",
    "UserExistsError",
    "UserNotFoundError",
]


class AuthenticationError(PermissionDeniedError):
    """No credential, or one that proves nothing (unknown, expired, revoked, bad signature).

    The server answers 401 (a :class:`PermissionDeniedError` that is not one of these is 403).
    """


class RateLimitedError(AuthenticationError):
    """Too many failed authentications from one source; ``retry_after`` seconds to wait."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UserNotFoundError(NotFoundError):
    """No user or service account has this name."""


class UserExistsError(AlreadyExistsError):
    """A user or service account with this name already exists."""


class TokenNotFoundError(NotFoundError):
    """No API token has this id."""
