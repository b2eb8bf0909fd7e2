"""A serving replica: the revisions it has loaded, how it picks one per request, what it counts.

The replica's :class:`Snapshot` (routing targets + loaded runtimes) is immutable and replaced in
one assignment. A hot swap (:meth:`Replica.refresh`) loads every new revision *before* the
assignment, reusing runtimes already loaded; a revision that fails to load keeps the previous
snapshot serving (and is logged), so a broken model never receives traffic. Requests in flight
keep a reference to the snapshot they started with, so an old runtime is released only once its
last request is answered.

Counting: each request updates the per-revision :class:`~falaj.serving.stats.RevisionStats` of the
current window under a lock; :meth:`Replica.report` hands the window to the source (the store)
and starts a new one.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from falaj.serving.errors import InferenceInputError
from falaj.serving.router import RoutingKey, Target, choose, key_fraction, mirrored
from falaj.serving.runtime import Answer, ModelRuntime
from falaj.serving.stats import RevisionStats, sketch_keys
from falaj.store.schema import utcnow

__all__ = ["Plan", "Replica", "RevisionSource", "Snapshot"]

_log = logging.getLogger("falaj.serving")


@dataclass(frozen=True)
class PlannedRevision:
    """A revision the source wants served: its id, route and what to load."""

    target: Target
    model_name: str
    model_version: int
    artifact_digest: str


@dataclass(frozen=True)
class Plan:
    """What the source says should be served now."""

    generation: int
    model_name: str
    deployment: str | None
    routing_key: RoutingKey | None
    revisions: tuple[PlannedRevision, ...]


class RevisionSource(Protocol):
    """Where a replica learns what to serve, loads it, and reports its counts."""

    def generation(self) -> int: ...

    def plan(self) -> Plan: ...

    def load(self, revision: PlannedRevision) -> ModelRuntime: ...

    def report(
        self, start: dt.datetime, end: dt.datetime, stats: dict[str, RevisionStats]
    ) -> None: ...


@dataclass(frozen=True)
class Snapshot:
    generation: int
    model_name: str
    deployment: str | None
    routing_key: RoutingKey | None
    targets: tuple[Target, ...]
    runtimes: dict[str, ModelRuntime] = field(default_factory=dict)

    def primary(self) -> ModelRuntime:
        """The runtime with the largest weight (metadata, explanations)."""
        best = max((t for t in self.targets if not t.shadow), key=lambda t: t.weight)
        return self.runtimes[best.id]


@dataclass
class Served:
    """One answered request: who answered and what."""

    request_id: str
    runtime: ModelRuntime
    answer: Answer
    latency_ms: float
    shadows: list[ModelRuntime]


class Replica:
    """The serving state of one process (see the module docstring)."""

    def __init__(self, source: RevisionSource, *, replica_id: str | None = None) -> None:
        self._source = source
        self.replica_id = replica_id or f"{socket.gethostname()}:{os.getpid()}"
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._stats: dict[str, RevisionStats] = {}
        self._window_start = utcnow()
        self.last_error: str | None = None

    @property
    def snapshot(self) -> Snapshot | None:
        return self._snapshot

    @property
    def ready(self) -> bool:
        return self._snapshot is not None

    # -- loading and hot swap ------
    def refresh(self, *, force: bool = False) -> bool:
        """Load what the source plans if it changed; True when a new snapshot was installed."""
        with self._refresh_lock:
            current = self._snapshot
            if (
                not force
                and current is not None
                and self._source.generation() == current.generation
            ):
                return False
            plan = self._source.plan()
            runtimes: dict[str, ModelRuntime] = {}
            try:
                for rev in plan.revisions:
                    have = current.runtimes.get(rev.target.id) if current else None
                    runtimes[rev.target.id] = have if have is not None else self._source.load(rev)
            except Exception as exc:  # keep serving what we have
                self.last_error = f"{type(exc).__name__}: {exc}"
                _log.error("revision failed to load; the previous one keeps serving: %s", exc)
                if current is None:
                    raise
                return False
            self._snapshot = Snapshot(
                plan.generation,
                plan.model_name,
                plan.deployment,
                plan.routing_key,
                tuple(r.target for r in plan.revisions),
                runtimes,
            )
            self.last_error = None
            return True

    # -- answering ------
    def route(
        self, snapshot: Snapshot, request_id: str, key: str | None
    ) -> tuple[ModelRuntime, list[ModelRuntime]]:
        draw = key_fraction(key) if key is not None else random.random()
        target = choose(snapshot.targets, draw)
        shadows = [snapshot.runtimes[t.id] for t in mirrored(snapshot.targets, request_id)]
        return snapshot.runtimes[target.id], shadows

    def observe(
        self, runtime: ModelRuntime, latency_ms: float, *, error: bool, answer: Answer | None
    ) -> None:
        keys: list[str] = []
        if answer is not None:
            keys = sketch_keys(answer.predict.tolist(), _opt_list(answer.positive_proba()))
        rid = runtime.revision_id
        if rid is None:
            return
        with self._lock:
            stats = self._stats.get(rid)
            if stats is None:
                stats = self._stats[rid] = RevisionStats()
            stats.observe(latency_ms, error=error, keys=keys)

    def shadow(self, runtime: ModelRuntime, frame: Any, primary: Answer) -> Answer | None:
        """Answer a mirrored request on a shadow revision and count the agreement."""
        import time

        started = time.perf_counter()
        try:
            answer = runtime.infer(frame)
        except InferenceInputError:
            self.observe(runtime, (time.perf_counter() - started) * 1000, error=True, answer=None)
            return None
        except Exception as exc:
            _log.warning("shadow revision %s failed: %s", runtime.revision_id, exc)
            self.observe(runtime, (time.perf_counter() - started) * 1000, error=True, answer=None)
            return None
        self.observe(runtime, (time.perf_counter() - started) * 1000, error=False, answer=answer)
        agreed = int(np.sum(np.asarray(answer.predict) == np.asarray(primary.predict)))
        if runtime.revision_id is not None:
            with self._lock:
                self._stats.setdefault(runtime.revision_id, RevisionStats()).compare(
                    agreed, len(primary.predict)
                )
        return answer

    # -- reporting ------
    def take_window(self) -> tuple[dt.datetime, dt.datetime, dict[str, RevisionStats]]:
        with self._lock:
            stats, self._stats = self._stats, {}
            start, end = self._window_start, utcnow()
            self._window_start = end
        return start, end, stats

    def report(self) -> int:
        start, end, stats = self.take_window()
        if not stats:
            return 0
        try:
            self._source.report(start, end, stats)
        except Exception as exc:  # put the counts back: the next report retries them
            _log.warning("could not report aggregates (kept for the next try): %s", exc)
            with self._lock:
                for rid, s in stats.items():
                    self._stats.setdefault(rid, RevisionStats()).merge(s)
                self._window_start = min(self._window_start, start)
            return 0
        return len(stats)


def _opt_list(values: np.ndarray | None) -> list[float] | None:
    return None if values is None else [float(v) for v in values]


class Ticker:
    """Calls ``fn`` every ``interval_s`` on a daemon thread until :meth:`stop`."""

    def __init__(self, interval_s: float, fn: Callable[[], Any], name: str) -> None:
        self._interval = interval_s
        self._fn = fn
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._fn()
            except Exception as exc:
                _log.warning("%s failed: %s", self._thread.name, exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
