"""The failed-authentication limiter: a token bucket per source on an injected clock."""

from __future__ import annotations

import pytest

from falaj.governance.identity import FailedAuthLimiter, RateLimitedError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_source_is_refused_after_its_burst_and_others_are_not() -> None:
    clock = Clock()
    limiter = FailedAuthLimiter(burst=3, refill_per_second=0.5, clock=clock)
    for _ in range(3):
        limiter.check("10.0.0.1")
        limiter.failure("10.0.0.1")
    with pytest.raises(RateLimitedError) as refused:
        limiter.check("10.0.0.1")
    assert refused.value.retry_after == pytest.approx(2.0)
    limiter.check("10.0.0.2")  # another source has its own bucket


def test_tries_come_back_at_the_refill_rate() -> None:
    clock = Clock()
    limiter = FailedAuthLimiter(burst=2, refill_per_second=0.5, clock=clock)
    limiter.failure("a")
    limiter.failure("a")
    with pytest.raises(RateLimitedError):
        limiter.check("a")
    clock.now += 1.9
    with pytest.raises(RateLimitedError):
        limiter.check("a")
    clock.now += 0.1
    limiter.check("a")
    clock.now += 100
    assert limiter.remaining("a") == 2.0  # never more than the burst


def test_the_table_of_sources_is_bounded() -> None:
    limiter = FailedAuthLimiter(burst=1, refill_per_second=0.001, clock=Clock(), max_sources=2)
    for source in ("a", "b", "c"):
        limiter.failure(source)
    limiter.check("a")  # forgotten (least recently seen), so it starts afresh
    with pytest.raises(RateLimitedError):
        limiter.check("c")


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="rate limit"):
        FailedAuthLimiter(burst=0)
