"""Evidence kinds and the shapes gates rely on.

Training writes evidence, gates read it. Every kind is a JSON object; the kinds gates read
numbers from are checked so a malformed report is refused when it is attached, not when a
promotion is attempted::

    evaluation   {"metrics": {"roc_auc": 0.81, ...}, "intervals": {"roc_auc": [lo, hi], ...}}
    fairness     {"sensitive_features": [...], "metrics": {"demographic_parity_difference": ...},
                  "passed": bool, "unreliable_groups": [...]}
    explanation  {"top_features": [...]}
    model_card   {"sections": [...]}
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from falaj.errors import InvalidInputError

__all__ = ["METRIC_KINDS", "check_evidence", "metric_value"]

_KIND = re.compile(r"^[a-z][a-z0-9_\-]{0,49}$")
#: Kinds whose ``summary["metrics"]`` must map names to finite numbers.
METRIC_KINDS = ("evaluation", "fairness")


def check_evidence(kind: object, summary: object) -> None:
    """Refuse a malformed evidence kind or summary, naming the field."""
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise InvalidInputError(
            f"evidence kind {kind!r} is invalid: expected 1-50 lowercase letters, digits, '_' "
            "or '-' (e.g. 'evaluation', 'fairness', 'model_card')"
        )
    if not isinstance(summary, dict):
        raise InvalidInputError(
            f"evidence summary {summary!r} is invalid: expected a JSON object (dict)"
        )
    try:
        json.dumps(summary, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"evidence summary of kind {kind!r} is not JSON-serializable: {exc}"
        ) from exc
    if kind in METRIC_KINDS:
        metrics = summary.get("metrics")
        if not isinstance(metrics, dict):
            raise InvalidInputError(
                f"{kind} evidence summary field 'metrics' is {metrics!r}: expected an object "
                "mapping metric names to numbers"
            )
        for key, value in metrics.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInputError(
                    f"{kind} evidence metric {key!r} is {value!r}: expected a number"
                )
            if not math.isfinite(value):
                raise InvalidInputError(
                    f"{kind} evidence metric {key!r} is {value!r}: expected a finite number"
                )


def metric_value(summary: dict[str, Any], name: str) -> float | None:
    """``summary["metrics"][name]`` as a float, or None when absent."""
    metrics = summary.get("metrics")
    if not isinstance(metrics, dict):
        return None
    value = metrics.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
