"""Registry errors: subclasses of the one Falaj tree (see :mod:`falaj.errors`)."""

from __future__ import annotations

from falaj.errors import ConflictError, InvalidInputError, NotFoundError, PolicyViolationError

__all__ = [
    "AliasNotFoundError",
    "GatesFailedError",
    "ModelNotFoundError",
    "ModelVersionNotFoundError",
    "PolicyNotFoundError",
    "PolicyParseError",
    "SelfApprovalError",
    "VersionStateError",
]


class ModelNotFoundError(NotFoundError):
    """No registered model has this name."""


class ModelVersionNotFoundError(NotFoundError):
    """The registered model has no such version."""


class AliasNotFoundError(NotFoundError):
    """The registered model has no such alias."""


class PolicyNotFoundError(NotFoundError):
    """No gate policy has been set for this registered model."""


class VersionStateError(ConflictError):
    """The version's status (ARCHIVED, DELETED) or its aliases forbid the operation."""


class PolicyParseError(InvalidInputError):
    """A gate policy file is malformed; the message names the line and the field."""


class SelfApprovalError(PolicyViolationError):
    """Separation of duties: whoever created a version may not approve it."""


class GatesFailedError(PolicyViolationError):
    """A promotion was refused because at least one gate condition failed."""
