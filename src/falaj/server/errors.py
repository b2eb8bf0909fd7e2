"""Falaj errors as HTTP answers: one JSON shape, ``{"error": {"type", "message"}}``.

====================================  ======
error                                 status
====================================  ======
AuthenticationError                   401 (``WWW-Authenticate: Bearer``)
RateLimitedError                      429 (``Retry-After``)
PermissionDeniedError                 403 (the service seam audited it as ``denied``)
NotFoundError                         404
AlreadyExistsError, ConflictError     409
PolicyViolationError                  409 (gates failed, separation of duties: the request is
                                      allowed, the state of the resource refuses it)
BodyTooLargeError                     413
InvalidInputError (and subclasses)    422
BackendUnavailableError               503
IntegrityError, ExecutionError        500
====================================  ======

No traceback ever leaves the server; an unexpected error answers 500 naming the request id,
and the traceback goes to the server's log.
"""

from __future__ import annotations

from typing import Any

from falaj.errors import (
    AlreadyExistsError,
    BackendUnavailableError,
    ConflictError,
    FalajError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PolicyViolationError,
)
from falaj.governance.identity.errors import AuthenticationError, RateLimitedError
from falaj.redact import redact

__all__ = ["BodyTooLargeError", "error_body", "status_of"]


class BodyTooLargeError(InvalidInputError):
    """A request body larger than the server accepts."""


_ORDER: list[tuple[type[FalajError], int]] = [
    (RateLimitedError, 429),
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (AlreadyExistsError, 409),
    (ConflictError, 409),
    (PolicyViolationError, 409),
    (BodyTooLargeError, 413),
    (InvalidInputError, 422),
    (BackendUnavailableError, 503),
]


def status_of(exc: FalajError) -> int:
    for kind, status in _ORDER:
        if isinstance(exc, kind):
            return status
    return 500


def error_body(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": kind, "message": redact(message)[:4000], **extra}}
