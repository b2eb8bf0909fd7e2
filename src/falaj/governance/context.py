"""The request id that ties together everything one call did (audit events, logs)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["current_request_id", "request_scope"]

_request_id: ContextVar[str | None] = ContextVar("falaj_request_id", default=None)


def current_request_id() -> str:
    """The id of the request in progress, or a fresh one for a standalone call."""
    return _request_id.get() or uuid.uuid4().hex


@contextmanager
def request_scope(request_id: str | None = None) -> Iterator[str]:
    """Run a block under one request id (the server sets it from ``X-Request-ID``)."""
    rid = request_id or uuid.uuid4().hex
    token = _request_id.set(rid)
    try:
        yield rid
    finally:
        _request_id.reset(token)
