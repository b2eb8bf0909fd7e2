"""The online store Protocol, and how the workspace picks one.

An online store keeps, per feature view and entity key, one row: the event time of the values
(epoch seconds) and the values themselves (an opaque byte payload the feature store encodes).
Its guarantees, which the contract suite checks on every implementation:

- ``write`` is an upsert where the newer event time wins: a row older than the stored one is
  ignored, so re-running a materialization (after a crash, or twice) is harmless and a
  late-arriving old row never overwrites a newer value;
- ``read`` returns the stored rows for the keys it was given (absent keys are left out), in one
  round trip per call (one query / one pipeline) whatever the number of keys;
- views are separate namespaces; ``drop_view`` empties one and nothing else.

TTL is not the store's business: the feature store judges freshness on read from the event time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["OnlineRow", "OnlineStore", "open_online_store"]

#: (entity key, event time in epoch seconds, payload)
OnlineRow = tuple[str, float, bytes]


@runtime_checkable
class OnlineStore(Protocol):
    """Where materialized feature values live for low-latency reads."""

    @property
    def kind(self) -> str:
        """``"sqlite"`` or ``"redis"``."""

    def write(self, view: str, rows: Sequence[OnlineRow]) -> int:
        """Upsert ``rows`` (newer event time wins); returns how many rows were given."""

    def read(self, view: str, keys: Sequence[str]) -> dict[str, tuple[float, bytes]]:
        """``{key: (event_ts, payload)}`` for the given keys that are stored."""

    def drop_view(self, view: str) -> None:
        """Forget every row of ``view``."""

    def close(self) -> None:
        """Release connections."""


def open_online_store(
    home: Path, redis_url: str | None, *, redis_prefix: str = "falaj:"
) -> OnlineStore:
    """Redis when ``redis_url`` is set, else SQLite in ``home/online.db``."""
    if redis_url:
        from falaj.features.online.redis_store import RedisOnlineStore

        return RedisOnlineStore(redis_url, prefix=redis_prefix)
    from falaj.features.online.sqlite_store import SqliteOnlineStore

    return SqliteOnlineStore(home / "online.db")
