"""Data preparation: sources, dataset versions, profiles, validation, anomaly detection.

Reached as ``ws.datasets`` (:class:`~falaj.data.service.DatasetService`). Heavy libraries
(pyarrow, duckdb, pandera, scikit-learn) are imported by the functions that use them.
"""

from falaj.data.errors import (
    DatasetNotFoundError,
    ExpectationFileError,
    SourceFormatError,
    SourceUnavailableError,
    ValidationFailedError,
)
from falaj.data.expectations import ColumnSpec, Freshness, RowCheck, Suite
from falaj.data.sources import CsvSource, DataFrameSource, ParquetSource, Source, SqlSource
from falaj.data.versions import DatasetDiff, DatasetVersion

__all__ = [
    "ColumnSpec",
    "CsvSource",
    "DataFrameSource",
    "DatasetDiff",
    "DatasetNotFoundError",
    "DatasetVersion",
    "ExpectationFileError",
    "Freshness",
    "ParquetSource",
    "RowCheck",
    "Source",
    "SourceFormatError",
    "SourceUnavailableError",
    "SqlSource",
    "Suite",
    "ValidationFailedError",
]
