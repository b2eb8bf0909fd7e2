"""Checks on names, keys and values given to the tracking API (clear errors, nothing changed)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from falaj.errors import InvalidInputError
from falaj.textcheck import check_text

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_PARAM_LENGTH",
    "check_experiment_name",
    "check_key",
    "check_model_name",
    "check_run_name",
    "metric_step",
    "metric_value",
    "param_text",
    "tag_text",
    "to_epoch_seconds",
]

MAX_KEY_LENGTH = 250
MAX_PARAM_LENGTH = 8000
MAX_TAG_LENGTH = 8000
_KEY = re.compile(r"^[A-Za-z0-9_\-./: ]{1,250}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-. ]{0,199}$")
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,199}$")


def check_key(key: Any, what: str) -> str:
    """A metric, param or tag key: 1-250 letters, digits, ``_ - . / :`` or spaces."""
    if not isinstance(key, str) or not _KEY.match(key) or key.strip() != key:
        raise InvalidInputError(
            f"{what} key {key!r} is invalid: expected 1-{MAX_KEY_LENGTH} letters, digits, "
            "'_', '-', '.', '/', ':' or inner spaces"
        )
    return key


def check_experiment_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name.strip() != name:
        raise InvalidInputError(
            f"experiment {name!r} is invalid: expected 1-200 letters, digits, '_', '-', '.' or "
            "inner spaces, starting with a letter or digit"
        )
    return name


def check_run_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidInputError(f"run_name {name!r} is invalid: expected 1-200 characters")
    check_text("run_name", name, optional=False)
    return name


def check_model_name(name: Any) -> str:
    if not isinstance(name, str) or not _MODEL_NAME.match(name):
        raise InvalidInputError(
            f"model name {name!r} is invalid: expected 1-200 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    return name


def param_text(key: str, value: Any) -> str:
    """Params are stored as text; ``None`` and containers are refused to stay unambiguous."""
    if value is None or isinstance(value, dict | list | set | tuple | bytes):
        raise InvalidInputError(
            f"param {key!r} has value {value!r}: expected a string, number or boolean"
        )
    text = str(value)
    if len(text) > MAX_PARAM_LENGTH:
        raise InvalidInputError(
            f"param {key!r} is {len(text)} characters long: at most {MAX_PARAM_LENGTH} allowed"
        )
    check_text(f"param {key!r}", text, optional=False)
    return text


def tag_text(key: str, value: Any) -> str:
    if value is None or isinstance(value, dict | list | set | tuple | bytes):
        raise InvalidInputError(f"tag {key!r} has value {value!r}: expected a string")
    text = str(value)
    if len(text) > MAX_TAG_LENGTH:
        raise InvalidInputError(
            f"tag {key!r} is {len(text)} characters long: at most {MAX_TAG_LENGTH} allowed"
        )
    check_text(f"tag {key!r}", text, optional=False)
    return text


def metric_value(key: str, value: Any) -> float:
    if isinstance(value, str | bytes) or value is None:
        raise InvalidInputError(f"metric {key!r} has value {value!r}: expected a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"metric {key!r} has value {value!r}: expected a number") from None
    except OverflowError:
        raise InvalidInputError(
            f"metric {key!r} has value {value}: too large for a 64-bit float"
        ) from None


def metric_step(key: str, step: Any) -> int:
    if isinstance(step, bool) or not isinstance(step, int):
        try:
            import numpy as np

            if isinstance(step, np.integer):
                return int(step)
        except ImportError:  # pragma: no cover - numpy is a dependency
            pass
        raise InvalidInputError(f"metric {key!r} has step {step!r}: expected an integer")
    if abs(step) >= 2**63:
        raise InvalidInputError(f"metric {key!r} has step {step}: out of the 64-bit range")
    return step


def to_epoch_seconds(field: str, value: Any) -> float:
    """A timezone-aware datetime or seconds since the epoch → seconds since the epoch."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise InvalidInputError(
                f"{field} {value!r} is a naive datetime: pass a timezone-aware one"
            )
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:  # the writer stores it as a datetime: refuse here what it could not convert
            dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidInputError(
                f"{field} {value!r} is invalid: epoch seconds out of the range of dates "
                "(years 1 to 9999)"
            ) from None
        return float(value)
    raise InvalidInputError(
        f"{field} {value!r} is invalid: expected a timezone-aware datetime or epoch seconds"
    )
