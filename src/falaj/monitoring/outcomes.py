"""What monitoring calls return: drift and performance outcomes, retention reports, and the
small parsing helpers the service shares (feedback items, the logged prediction column)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from falaj.errors import InvalidInputError
from falaj.monitoring.drift import DriftReport
from falaj.monitoring.performance import Performance
from falaj.monitoring.prediction_log import OUTPUT_PREFIX
from falaj.monitoring.windows import Window

__all__ = [
    "DriftOutcome",
    "PerformanceOutcome",
    "RetentionReport",
    "check_feedback",
    "plain",
    "prediction_column",
]

PREDICTION_KEYS = ("predict", "prediction", "predictions", "output-0", "label")


@dataclass(frozen=True)
class DriftOutcome:
    """A drift check of one model version over one window, against one reference."""

    model: str
    version: int
    reference: str
    window: Window
    report: DriftReport
    result_id: str | None

    @property
    def drifted(self) -> bool:
        return self.report.drifted

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.report.as_dict(),
            "model": self.model,
            "version": self.version,
            "reference": self.reference,
            "window": {
                "start": self.window.start.isoformat() if self.window.start else None,
                "end": self.window.end.isoformat(),
            },
            "result_id": self.result_id,
        }


@dataclass(frozen=True)
class PerformanceOutcome:
    model: str
    version: int
    window: Window
    performance: Performance
    result_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.performance.as_dict(),
            "model": self.model,
            "version": self.version,
            "window": {
                "start": self.window.start.isoformat() if self.window.start else None,
                "end": self.window.end.isoformat(),
            },
            "result_id": self.result_id,
        }


@dataclass(frozen=True)
class RetentionReport:
    cutoff: dt.datetime
    partitions: int
    requests: int
    bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "partitions": self.partitions,
            "requests": self.requests,
            "bytes": self.bytes,
        }


def check_feedback(items: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    if isinstance(items, str | bytes | dict):
        raise InvalidInputError("feedback is invalid: expected a list of (request_id, label)")
    pairs: list[tuple[str, Any]] = []
    for i, item in enumerate(items):
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise InvalidInputError(
                f"feedback item {i} {str(item)[:80]!r} is invalid: expected (request_id, label)"
            )
        rid, label = item
        if not isinstance(rid, str) or not rid or len(rid) > 64:
            raise InvalidInputError(f"feedback item {i}: request id {rid!r} is invalid")
        if label is None:
            raise InvalidInputError(f"feedback item {i}: the label of {rid!r} is missing")
        try:
            json.dumps(label, allow_nan=False)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"feedback item {i}: label {str(label)[:80]!r} of {rid!r} is invalid: expected "
                "JSON (a number, text, boolean or a list of them)"
            ) from None
        pairs.append((rid, label))
    if not pairs:
        raise InvalidInputError("feedback is empty: expected at least one (request_id, label)")
    return pairs


def prediction_column(outputs: list[str], chosen: str | None) -> str | None:
    if chosen is not None:
        name = chosen if chosen.startswith(OUTPUT_PREFIX) else OUTPUT_PREFIX + chosen
        if name not in outputs:
            raise InvalidInputError(
                f"prediction output {chosen!r} was not logged: logged outputs are "
                f"{', '.join(sorted({o[len(OUTPUT_PREFIX) :] for o in outputs})) or 'none'}"
            )
        return name
    for key in PREDICTION_KEYS:
        if OUTPUT_PREFIX + key in outputs:
            return OUTPUT_PREFIX + key
    plain = [o for o in outputs if "proba" not in o]
    return plain[0] if plain else None


def plain(value: Any) -> Any:
    """numpy scalars and arrays from Parquet as plain Python values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
