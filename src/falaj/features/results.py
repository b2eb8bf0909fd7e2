"""What the feature store's calls return: apply and materialization results, freshness."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from falaj.features.catalog import Registered
from falaj.features.definitions import format_ttl

__all__ = ["ApplyResult", "Freshness", "MaterializeResult"]


@dataclass(frozen=True)
class ApplyResult:
    """What ``apply`` did: new versions written, and definitions left as they were."""

    changed: list[Registered]
    unchanged: list[Registered]

    def as_dict(self) -> dict[str, Any]:
        return {
            "changed": [f"{r.kind}:{r.id}" for r in self.changed],
            "unchanged": [f"{r.kind}:{r.id}" for r in self.unchanged],
        }


@dataclass(frozen=True)
class MaterializeResult:
    view: str
    view_version: int
    source_version: str
    rows_written: int
    since: dt.datetime | None
    end: dt.datetime
    full: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "view_version": self.view_version,
            "source_version": self.source_version,
            "rows_written": self.rows_written,
            "since": self.since.isoformat() if self.since else None,
            "end": self.end.isoformat(),
            "full": self.full,
        }


@dataclass(frozen=True)
class Freshness:
    """How far a view's online values reach (``watermark``), and how old that is now."""

    view: str
    ttl_seconds: int | None
    watermark: dt.datetime | None
    age_seconds: float | None
    rows_written: int
    online_store: str | None

    @property
    def stale(self) -> bool:
        """True when never materialized, or the watermark is older than the TTL."""
        if self.watermark is None:
            return True
        return self.ttl_seconds is not None and (self.age_seconds or 0) > self.ttl_seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "ttl": format_ttl(self.ttl_seconds),
            "watermark": self.watermark.isoformat() if self.watermark else None,
            "age_seconds": self.age_seconds,
            "rows_written": self.rows_written,
            "online_store": self.online_store,
            "stale": self.stale,
        }
