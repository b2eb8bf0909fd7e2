"""Running a peer tool inside a benchmark: its failure is a result to report, not a crash.

A peer (MLflow, Prefect...) can fail for reasons of its own (Prefect's temporary server:
"database is locked"). The benchmark then prints the row with ``n/a`` and the reason, and the
remaining measurements and benchmarks still run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["PeerOutcome", "run_peer"]

T = TypeVar("T")


@dataclass(frozen=True)
class PeerOutcome(Generic[T]):
    """The peer's measurements, or None and why it failed (one line)."""

    value: T | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def reason_of(exc: BaseException) -> str:
    """The most telling line of an error: the last non-empty line of its text, shortened."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines else type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:160]


def run_peer(name: str, measure: Callable[[], T]) -> PeerOutcome[T]:
    """``measure()``; if the peer fails, say so (with the reason) and carry on."""
    try:
        return PeerOutcome(measure())
    except Exception as exc:  # any failure of the peer is reported, not raised
        reason = reason_of(exc)
        print(f"{name} FAILED: {reason}", flush=True)
        return PeerOutcome(None, reason)


def print_alone(peer: str, reason: str | None, ours: dict[str, float]) -> None:
    """Falaj's measurements when the peer failed: each with ``n/a`` for the peer and the reason."""
    print(f"{'measure':<44}{'Falaj':>12}{peer:>12}")
    for key, value in ours.items():
        print(f"{key:<44}{value:>12.4g}{'n/a':>12}")
    print(f"no ratios this run: {peer} failed: {reason}")
