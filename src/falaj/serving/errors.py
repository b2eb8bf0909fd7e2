"""Serving errors: subclasses of the one Falaj tree (see :mod:`falaj.errors`)."""

from __future__ import annotations

from falaj.errors import (
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    SchemaError,
)

__all__ = [
    "DeploymentNotFoundError",
    "InferenceInputError",
    "ModelLoadError",
    "PayloadTooLargeError",
    "RevisionNotFoundError",
    "RolloutNotFoundError",
    "RolloutStateError",
]


class DeploymentNotFoundError(NotFoundError):
    """No deployment has this name."""


class RevisionNotFoundError(NotFoundError):
    """The deployment has no such revision."""


class RolloutNotFoundError(NotFoundError):
    """The deployment has no rollout in progress (or none with this id)."""


class RolloutStateError(ConflictError):
    """The rollout's state forbids the operation (promote a rolled-back rollout...)."""


class InferenceInputError(SchemaError):
    """A request's inputs do not fit the model's signature (answered with HTTP 400/422)."""


class PayloadTooLargeError(InvalidInputError):
    """A request body over the server's limit (answered with HTTP 413)."""


class ModelLoadError(IntegrityError):
    """A revision's model could not be loaded, or its bytes do not match the pinned digest."""
