"""Prometheus metrics of a server: requests, errors and latency per deployment and revision.

With several uvicorn workers, set ``PROMETHEUS_MULTIPROC_DIR`` (``falaj serve`` does) and every
worker's values are written there and summed at ``/metrics`` (prometheus-client's multiprocess
mode); with one worker the metrics live in the app's own registry.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.registry import Collector

__all__ = ["ServerMetrics"]

_LABELS = ("deployment", "revision", "model", "version")
_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServerMetrics:
    def __init__(self, extra: Iterable[Collector] = ()) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self._registry = CollectorRegistry()
        target = None if self.multiprocess else self._registry
        self.requests = Counter(
            "falaj_requests", "Inference requests answered", _LABELS, registry=target
        )
        self.errors = Counter(
            "falaj_request_errors",
            "Inference requests that failed, by kind (client or server)",
            (*_LABELS, "kind"),
            registry=target,
        )
        self.latency = Histogram(
            "falaj_request_latency_seconds",
            "Inference latency inside the server",
            _LABELS,
            buckets=_BUCKETS,
            registry=target,
        )
        self.rows = Counter("falaj_rows", "Rows predicted", _LABELS, registry=target)
        self._extra = list(extra)

    def render(self) -> bytes:
        registry = self._registry
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        for collector in self._extra:
            with contextlib.suppress(ValueError):  # already registered in this registry
                registry.register(collector)
        return generate_latest(registry)
