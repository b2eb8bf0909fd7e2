"""Traffic routing: which revision answers a request, and which shadows see a copy of it.

Pure functions over the deployment's revisions:

- **weighted split** (canary): a revision is chosen with probability ``weight / sum(weights)``
  from a uniform draw the caller supplies (``random.random()`` in the server, fixed in tests);
- **sticky A/B**: when the request carries a routing key (a header or a field named by the
  deployment's ``routing_key``), the draw is ``sha256(key)`` mapped to [0, 1), so the same key
  always reaches the same revision while the weights stay the same, on every replica and across
  restarts (Python's ``hash()`` is salted per process and would not do);
- **shadows**: each shadow revision receives a mirrored copy of a ``shadow_fraction`` of the
  requests, chosen by ``sha256(request id + revision id)``; its answer is compared, never returned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from falaj.errors import InvalidInputError

__all__ = ["RoutingKey", "Target", "choose", "key_fraction", "mirrored", "parse_routing_key"]


@dataclass(frozen=True)
class Target:
    """What the router needs of a revision: its id, role and share."""

    id: str
    weight: float
    shadow_fraction: float = 0.0
    shadow: bool = False


@dataclass(frozen=True)
class RoutingKey:
    """Where a request's routing key comes from: ``header:NAME`` or ``field:NAME``."""

    source: str
    name: str

    def __str__(self) -> str:
        return f"{self.source}:{self.name}"


def parse_routing_key(text: str | None) -> RoutingKey | None:
    if text is None or text == "":
        return None
    source, sep, name = text.partition(":")
    if not sep or source not in ("header", "field") or not name.strip():
        raise InvalidInputError(
            f"routing key {text!r} is invalid: expected 'header:NAME' or 'field:NAME'"
        )
    return RoutingKey(source, name.strip().lower() if source == "header" else name.strip())


def key_fraction(key: str) -> float:
    """A stable value in [0, 1) for ``key`` (the first 8 bytes of its sha256)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def choose(targets: Sequence[Target], draw: float) -> Target:
    """The serving target whose cumulative weight band holds ``draw`` (in [0, 1))."""
    serving = [t for t in targets if not t.shadow and t.weight > 0]
    if not serving:
        raise InvalidInputError("the deployment has no revision with a positive weight")
    total = sum(t.weight for t in serving)
    point = draw * total
    acc = 0.0
    for target in serving:
        acc += target.weight
        if point < acc:
            return target
    return serving[-1]


def mirrored(targets: Sequence[Target], request_id: str) -> list[Target]:
    """The shadow targets that receive a copy of the request ``request_id``."""
    return [
        t
        for t in targets
        if t.shadow
        and t.shadow_fraction > 0
        and key_fraction(f"{request_id}/{t.id}") < t.shadow_fraction
    ]
