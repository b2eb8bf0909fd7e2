"""Errors of the tracking area (subclasses of the one Falaj exception tree)."""

from __future__ import annotations

from falaj.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PolicyViolationError,
)
from falaj.store.batch_writer import BatchWriteError

__all__ = [
    "ExperimentNotFoundError",
    "InvalidFilterError",
    "ModelNotFoundError",
    "ModelPredictionError",
    "ParamConflictError",
    "RunNotActiveError",
    "RunNotFoundError",
    "TrackingWriteError",
    "UntrustedModelError",
]


class RunNotFoundError(NotFoundError):
    """No run has this id."""


class ExperimentNotFoundError(NotFoundError):
    """No experiment has this name."""


class ModelNotFoundError(NotFoundError):
    """No logged model matches this reference."""


class RunNotActiveError(ConflictError):
    """Logging into a run that has already ended."""


class ParamConflictError(ConflictError):
    """A param is immutable: re-logging its key with a different value."""


class InvalidFilterError(InvalidInputError):
    """A run-search filter or order-by clause that does not parse; points at the position."""

    #: a filter longer than this is shown as a window around the position, never in full
    WINDOW = 120

    def __init__(self, message: str, text: str, position: int) -> None:
        self.text = text
        self.position = position
        shown, offset = text, position
        if len(text) > self.WINDOW:
            start = max(0, min(position - self.WINDOW // 2, len(text) - self.WINDOW))
            end = start + self.WINDOW
            shown = ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")
            offset = position - start + (3 if start else 0)
        caret = " " * (offset + 2) + "^"
        super().__init__(f"{message} (at position {position})\n  {shown}\n{caret}")


class ModelPredictionError(InvalidInputError):
    """The model's library refused input that fits the signature (NaN, no rows...)."""


class UntrustedModelError(PolicyViolationError):
    """Loading a model whose format runs code (pickle) without ``trusted=True``."""


class TrackingWriteError(BatchWriteError):
    """The background writer could not persist logged values."""
