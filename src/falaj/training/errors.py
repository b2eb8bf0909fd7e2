"""Errors of the training area (subclasses of the one Falaj tree)."""

from __future__ import annotations

from falaj.errors import ExecutionError, InvalidInputError, NotFoundError

__all__ = [
    "EvaluationInputError",
    "ExplainError",
    "FairnessPolicyError",
    "SearchSpaceError",
    "StudyNotFoundError",
    "TrialError",
    "UnknownEstimatorError",
]


class EvaluationInputError(InvalidInputError):
    """Labels, scores or predictions that cannot be evaluated (shape, values, classes)."""


class FairnessPolicyError(InvalidInputError):
    """A fairness policy that is malformed (unknown metric, missing justification...)."""


class SearchSpaceError(InvalidInputError):
    """A search space declaration that does not fit the expected shape."""


class UnknownEstimatorError(InvalidInputError):
    """A model family that the search does not know."""


class StudyNotFoundError(NotFoundError):
    """A hyperparameter study that does not exist in the workspace's storage."""


class TrialError(ExecutionError):
    """Every trial of a search failed (the first error is chained)."""


class ExplainError(InvalidInputError):
    """A model or data that cannot be explained as asked."""
