from __future__ import annotations

import hashlib

import pytest

from falaj.errors import InvalidInputError
from falaj.serving.router import (
    RoutingKey,
    Target,
    choose,
    key_fraction,
    mirrored,
    parse_routing_key,
)

STABLE = Target("stable", 80.0)
CANARY = Target("canary", 20.0)
SHADOW = Target("shadow", 0.0, shadow_fraction=0.25, shadow=True)


def test_draws_fall_in_cumulative_weight_bands() -> None:
    assert choose([STABLE, CANARY], 0.0).id == "stable"
    assert choose([STABLE, CANARY], 0.7999).id == "stable"
    assert choose([STABLE, CANARY], 0.80).id == "canary"
    assert choose([STABLE, CANARY], 0.9999).id == "canary"


def test_zero_weight_and_shadow_revisions_never_answer() -> None:
    zero = Target("zero", 0.0)
    for draw in (0.0, 0.3, 0.99):
        assert choose([zero, SHADOW, CANARY], draw).id == "canary"


def test_no_positive_weight_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="positive weight"):
        choose([Target("a", 0.0), SHADOW], 0.5)


def test_key_fraction_is_sha256_based_and_stable_across_processes() -> None:
    digest = hashlib.sha256(b"user-42").digest()
    assert key_fraction("user-42") == int.from_bytes(digest[:8], "big") / 2**64
    assert 0 <= key_fraction("") < 1


def test_same_key_same_revision_and_keys_spread_by_weight() -> None:
    picks = [choose([STABLE, CANARY], key_fraction(f"user-{i}")).id for i in range(4000)]
    again = [choose([STABLE, CANARY], key_fraction(f"user-{i}")).id for i in range(4000)]
    assert picks == again
    share = picks.count("canary") / len(picks)
    assert abs(share - 0.2) < 5 * (0.2 * 0.8 / 4000) ** 0.5


def test_shadow_mirrors_its_fraction_deterministically_per_request() -> None:
    ids = [f"req-{i}" for i in range(4000)]
    hits = [bool(mirrored([STABLE, SHADOW], rid)) for rid in ids]
    assert hits == [bool(mirrored([STABLE, SHADOW], rid)) for rid in ids]
    assert abs(sum(hits) / len(ids) - 0.25) < 5 * (0.25 * 0.75 / 4000) ** 0.5
    assert mirrored([STABLE, CANARY], "req-1") == []


def test_routing_key_parsing() -> None:
    assert parse_routing_key("header:X-User") == RoutingKey("header", "x-user")
    assert parse_routing_key("field:customer_id") == RoutingKey("field", "customer_id")
    assert parse_routing_key(None) is None
    for bad in ("cookie:x", "header:", "customer_id"):
        with pytest.raises(InvalidInputError, match="header:NAME"):
            parse_routing_key(bad)
