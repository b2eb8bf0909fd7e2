from __future__ import annotations

import math

from falaj.serving.stats import (
    LATENCY_BOUNDS_MS,
    RevisionStats,
    psi,
    quantile_ms,
    shift_p_value,
    sketch_keys,
)


def test_latency_quantiles_are_bucket_upper_bounds() -> None:
    stats = RevisionStats()
    for _ in range(98):
        stats.observe(0.8, error=False)
    stats.observe(40.0, error=False)
    stats.observe(40.0, error=True)
    summary = stats.summary()
    assert summary.p50_ms == 1
    assert summary.p99_ms == 50
    assert summary.requests == 100 and summary.errors == 1 and summary.error_rate == 0.01
    assert quantile_ms([0] * (len(LATENCY_BOUNDS_MS) + 1), 0.5) is None


def test_stats_from_replicas_merge_by_adding_counts() -> None:
    a, b = RevisionStats(), RevisionStats()
    a.observe(2.0, error=False, keys=["p:0.1"])
    b.observe(2.0, error=True, keys=["p:0.1", "p:0.9"])
    b.compare(agreed=3, total=4)
    a.merge(b)
    assert (a.requests, a.errors, a.compared, a.disagreed) == (2, 1, 4, 1)
    assert a.predictions == {"p:0.1": 2, "p:0.9": 1}
    assert sum(a.latency) == 2


def test_sketch_keys_bin_probabilities_in_tenths_or_name_values() -> None:
    assert sketch_keys([1, 0], [0.97, 0.04]) == ["p:0.9", "p:0.0"]
    assert sketch_keys([1, "yes", 2.345], None) == ["v:1", "v:yes", "v:2.3"]


def test_psi_is_zero_for_equal_shares_and_large_for_a_moved_distribution() -> None:
    assert psi({"a": 10, "b": 30}, {"a": 20, "b": 60}) == 0.0
    moved = psi({"a": 90, "b": 10}, {"a": 10, "b": 90})
    expected = 2 * (0.8 * math.log(9))
    assert math.isclose(moved, expected, rel_tol=1e-9)
    assert psi({}, {"a": 1}) == 0.0


def test_shift_significance_needs_enough_data() -> None:
    assert shift_p_value({"a": 3, "b": 2}, {"a": 2, "b": 3}) > 0.05
    assert shift_p_value({"a": 900, "b": 100}, {"a": 100, "b": 900}) < 1e-6
