"""Errors of the data capability, each a subclass of the one Falaj tree (:mod:`falaj.errors`)."""

from __future__ import annotations

from typing import Any

from falaj.errors import BackendUnavailableError, InvalidInputError, NotFoundError, SchemaError

__all__ = [
    "ClassificationConflictError",
    "DataWarning",
    "DatasetNotFoundError",
    "EmptyDatasetError",
    "ExpectationFileError",
    "SourceFormatError",
    "SourceUnavailableError",
    "ValidationFailedError",
]


class DatasetNotFoundError(NotFoundError):
    """No dataset (or no such version of it) is registered."""


class EmptyDatasetError(InvalidInputError):
    """A source has no rows and the caller required some (``require_rows=True``)."""


class DataWarning(UserWarning):
    """Registered, but worth a look: no rows, or a column's type changed from the last version."""


class SourceUnavailableError(BackendUnavailableError):
    """A source (file, object store, database) cannot be reached or read."""


class SourceFormatError(SchemaError):
    """A source's content does not parse into a table (bad CSV cell, mixed column types...)."""


class ClassificationConflictError(InvalidInputError):
    """Content already registered is registered again with classifications it does not carry."""


class ExpectationFileError(InvalidInputError):
    """An expectation suite (YAML or dict) is malformed; the message names the line and key."""


class ValidationFailedError(SchemaError):
    """Data failed its expectations under ``policy="fail"``; ``result`` holds the full report."""

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message)
        self.result = result
