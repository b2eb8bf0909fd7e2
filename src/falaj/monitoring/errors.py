"""Errors of the monitoring capability, each a subclass of the one Falaj tree."""

from __future__ import annotations

from falaj.errors import (
    BackendUnavailableError,
    InvalidInputError,
    NotFoundError,
    PolicyViolationError,
)

__all__ = [
    "DriftDetectedError",
    "MonitorNotFoundError",
    "NoReferenceError",
    "PredictionLogError",
    "UnknownRequestError",
]


class PredictionLogError(BackendUnavailableError):
    """Logged predictions could not be written (or were refused: a duplicate request id)."""


class UnknownRequestError(NotFoundError):
    """Feedback named request ids the prediction log does not hold (nothing was attached)."""

    def __init__(self, message: str, unknown: list[str]) -> None:
        super().__init__(message)
        self.unknown = unknown


class NoReferenceError(NotFoundError):
    """No reference data: the version's lineage names no training dataset and none was given."""


class MonitorNotFoundError(NotFoundError):
    """No monitor of that name."""


class DriftDetectedError(PolicyViolationError):
    """Drift was found and the caller asked to fail on it (exit 8)."""


class MonitorSpecError(InvalidInputError):
    """A monitor's specification is invalid (the message names the field)."""


__all__ += ["MonitorSpecError"]
