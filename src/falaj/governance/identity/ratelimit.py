"""Failed-authentication rate limit: one token bucket per source address.

Every source starts with ``burst`` tries; each *failed* authentication takes one, and tries come
back at ``refill_per_second``. A source with an empty bucket is refused before its credential is
even looked at, until a try has come back. Successful requests cost nothing. The clock is
injected (monotonic seconds), and the table of sources is bounded (the least recently seen are
forgotten), so a flood of spoofed addresses cannot grow memory.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from falaj.errors import InvalidInputError
from falaj.governance.identity.errors import RateLimitedError

__all__ = ["FailedAuthLimiter"]


class FailedAuthLimiter:
    """Token buckets of failed authentication tries, per source (thread-safe)."""

    def __init__(
        self,
        *,
        burst: int = 10,
        refill_per_second: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        max_sources: int = 100_000,
    ) -> None:
        if burst < 1 or refill_per_second <= 0 or max_sources < 1:
            raise InvalidInputError(
                "rate limit is invalid: expected burst >= 1, refill_per_second > 0, "
                "max_sources >= 1"
            )
        self._burst = float(burst)
        self._rate = refill_per_second
        self._clock = clock
        self._max = max_sources
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _level(self, source: str, now: float) -> float:
        tokens, at = self._buckets.get(source, (self._burst, now))
        return min(self._burst, tokens + (now - at) * self._rate)

    def check(self, source: str) -> None:
        """Raise :class:`RateLimitedError` when ``source`` has no try left."""
        with self._lock:
            now = self._clock()
            level = self._level(source, now)
            if level < 1.0:
                wait = (1.0 - level) / self._rate
                raise RateLimitedError(
                    f"too many failed authentications from this source: retry in {wait:.0f} s",
                    retry_after=wait,
                )

    def failure(self, source: str) -> None:
        """Record one failed authentication from ``source``."""
        with self._lock:
            now = self._clock()
            level = self._level(source, now)
            self._buckets[source] = (max(0.0, level - 1.0), now)
            self._buckets.move_to_end(source)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)

    def remaining(self, source: str) -> float:
        with self._lock:
            return self._level(source, self._clock())
