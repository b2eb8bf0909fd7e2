"""What the registry needs from its neighbours, wired by the workspace.

The registry reads runs and loads models through tracking's public API, asks the data area for a
dataset version's validation status, and reads artifacts and lineage from the foundation. Each
neighbour is reached lazily through a callable, so opening the registry builds nothing else, and
an area that is not installed (``datasets`` returning None) is reported by the gates instead of
failing at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from falaj.artifacts.service import ArtifactService
from falaj.governance.model_signing import ModelSigning
from falaj.lineage.graph import LineageService

if TYPE_CHECKING:
    from falaj.tracking.entities import LoggedModel, Run
    from falaj.tracking.models import LoadedModel

__all__ = ["DatasetStatusAPI", "LoggedModelLike", "RegistryLinks", "TrackingAPI"]


class LoggedModelLike(Protocol):
    """A model a run logged (``falaj.tracking.LoggedModel`` satisfies it)."""

    @property
    def run_id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def artifact_digest(self) -> str: ...

    @property
    def flavor(self) -> str: ...


class TrackingAPI(Protocol):
    """The part of ``ws.tracking`` the registry uses (``TrackingService`` satisfies it)."""

    def get_run(self, run_id: str) -> Run: ...

    def get_logged_model(self, ref: LoggedModel | str) -> LoggedModel: ...

    def load_model(self, ref: LoggedModel | str, *, trusted: bool = False) -> LoadedModel: ...


class DatasetStatusAPI(Protocol):
    """The part of ``ws.datasets`` the gates use."""

    def validation_status(self, dataset_version_id: str) -> str | None: ...

    def validations(self, dataset_version_id: str) -> list[Any]: ...


@dataclass(frozen=True)
class RegistryLinks:
    artifacts: ArtifactService
    lineage: LineageService
    tracking: Callable[[], TrackingAPI]
    datasets: Callable[[], DatasetStatusAPI | None]
    #: signs versions on registration and checks them before loading (None: no signing)
    signing: ModelSigning | None = None
