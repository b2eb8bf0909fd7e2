"""Errors of the feature store, under the one tree rooted at :class:`falaj.errors.FalajError`."""

from __future__ import annotations

from falaj.errors import InvalidInputError, NotFoundError

__all__ = ["FeatureDefinitionError", "FeatureNotFoundError"]


class FeatureDefinitionError(InvalidInputError):
    """An entity, feature view or feature service that is malformed (names the field)."""


class FeatureNotFoundError(NotFoundError):
    """An entity, feature view, feature service or feature reference that is not registered."""
