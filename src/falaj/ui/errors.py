"""Errors of the web UI (subclasses of the one tree rooted at :class:`falaj.errors.FalajError`)."""

from __future__ import annotations

from falaj.errors import PermissionDeniedError

__all__ = ["InvalidSessionError", "InvalidTokenError"]


class InvalidTokenError(PermissionDeniedError):
    """A login or bearer token that the authenticator does not accept."""


class InvalidSessionError(PermissionDeniedError):
    """A session cookie that is forged, tampered with, or expired."""
