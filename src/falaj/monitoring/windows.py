"""Time windows and targets: ``NAME@ALIAS``, ``--since 24h``, hourly and daily buckets."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from falaj.errors import InvalidInputError

__all__ = ["WINDOWS", "Window", "buckets", "parse_duration", "parse_target"]

WINDOWS = {"hourly": dt.timedelta(hours=1), "daily": dt.timedelta(days=1)}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``15m``, ``24h``, ``7d``, ``2w`` -> timedelta."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidInputError(
            f"duration {text!r} is invalid: expected a number and a unit (s, m, h, d, w), "
            "e.g. 24h or 7d"
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise InvalidInputError(f"duration {text!r} is invalid: expected more than 0")
    return dt.timedelta(seconds=seconds)


def parse_target(text: str) -> tuple[str, int | str]:
    """``credit@champion`` -> ("credit", "champion"); ``credit@3`` -> ("credit", 3)."""
    name, sep, ref = text.partition("@") if isinstance(text, str) else ("", "", "")
    if not sep or not name or not ref:
        raise InvalidInputError(
            f"model {text!r} is invalid: expected NAME@ALIAS or NAME@VERSION (e.g. credit@champion)"
        )
    return name, int(ref) if ref.isdigit() else ref


@dataclass(frozen=True)
class Window:
    start: dt.datetime | None
    end: dt.datetime

    def contains(self, at: dt.datetime) -> bool:
        return (self.start is None or at >= self.start) and at < self.end


def buckets(start: dt.datetime, end: dt.datetime, window: str) -> list[Window]:
    """Consecutive ``window`` buckets aligned to UTC hours/days covering [start, end)."""
    if window not in WINDOWS:
        raise InvalidInputError(
            f"window {window!r} is invalid: expected one of {', '.join(WINDOWS)}"
        )
    step = WINDOWS[window]
    first = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    if window == "daily":
        first = first.replace(hour=0)
    out: list[Window] = []
    cursor = first
    while cursor < end and len(out) < 10_000:
        out.append(Window(cursor, min(cursor + step, end)))
        cursor += step
    return out
