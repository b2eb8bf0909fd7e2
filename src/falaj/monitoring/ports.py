"""What monitoring needs from its neighbours, wired by the workspace (narrow typed Protocols).

Monitoring reads model versions and loads models through the registry, reference data through
the data area, training datasets and producing pipelines through lineage, re-runs a pipeline for
the retraining trigger, and reads request aggregates from serving when a server is wired in
(:class:`RequestStatsSource`; serving is a sibling, so it is never imported here).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from falaj.artifacts.objects import ObjectStoreProtocol
from falaj.artifacts.service import ArtifactService
from falaj.lineage.graph import LineageService

if TYPE_CHECKING:
    import pandas as pd

    from falaj.data.versions import DatasetVersion
    from falaj.pipelines.records import PipelineRun
    from falaj.registry.gates import GateReport
    from falaj.registry.models import ModelVersion

__all__ = [
    "DatasetsAPI",
    "MonitoringLinks",
    "PipelinesAPI",
    "RegistryAPI",
    "RequestStats",
    "RequestStatsSource",
]


class RegistryAPI(Protocol):
    """The part of ``ws.registry`` monitoring uses."""

    def get_version(self, name: str, version_or_alias: int | str) -> ModelVersion: ...

    def load_model(
        self, name: str, version_or_alias: int | str, *, trusted: bool = False
    ) -> Any: ...

    def list_versions(self, name: str, *, include_deleted: bool = False) -> list[ModelVersion]: ...

    def check_gates(self, name: str, version: int | str) -> GateReport: ...

    def aliases(self, name: str) -> dict[str, int]: ...


class DatasetsAPI(Protocol):
    """The part of ``ws.datasets`` monitoring uses."""

    def get(self, name: str, version: int | None = None) -> DatasetVersion: ...

    def load(self, name: str, version: int | None = None) -> pd.DataFrame: ...


class PipelinesAPI(Protocol):
    """The part of ``ws.pipelines`` the retraining trigger uses."""

    def run(
        self,
        pipeline: Any,
        *,
        params: Mapping[str, Any] | None = None,
        executor: Any = None,
        use_cache: bool = True,
        on_event: Any = None,
        external_key: str | None = None,
    ) -> PipelineRun: ...

    def get_run(self, run_id: str) -> PipelineRun: ...


@dataclass(frozen=True)
class RequestStats:
    """Serving's request aggregate for one revision of a deployment over a window."""

    revision: str
    requests: int
    errors: int
    latency_p95_ms: float


class RequestStatsSource(Protocol):
    """Where system-health checks read request aggregates (serving's, wired at the merge)."""

    def request_stats(
        self, model: str, since: dt.datetime, until: dt.datetime
    ) -> list[RequestStats]: ...


@dataclass(frozen=True)
class MonitoringLinks:
    artifacts: ArtifactService
    lineage: LineageService
    objects: ObjectStoreProtocol
    registry: Callable[[], RegistryAPI]
    datasets: Callable[[], DatasetsAPI]
    pipelines: Callable[[], PipelinesAPI]
    request_stats: Callable[[], RequestStatsSource | None] = lambda: None
