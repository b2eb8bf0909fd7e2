"""What the training area needs from its neighbours, as narrow structural types.

Training sits below the workspace in the layering, so it names the shape it uses here rather than
importing the workspace. ``falaj.workspace.Workspace`` satisfies :class:`TrainingWorkspace`. Every
neighbour is typed by its real service class (all in lower layers), so mypy checks each call
between areas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from falaj.config import Settings
from falaj.governance.principal import Principal

if TYPE_CHECKING:
    from falaj.artifacts.service import ArtifactService
    from falaj.data.service import DatasetService
    from falaj.lineage.graph import LineageService
    from falaj.registry.service import RegistryService
    from falaj.tracking.run import ActiveRun
    from falaj.tracking.service import TrackingService

__all__ = ["TrainingWorkspace", "WorkspaceOpener", "WorkspaceReopener"]


class TrainingWorkspace(Protocol):
    """The services a search, an evaluation or a report reaches."""

    @property
    def settings(self) -> Settings: ...

    @property
    def principal(self) -> Principal: ...

    @property
    def tracking(self) -> TrackingService: ...

    @property
    def registry(self) -> RegistryService: ...

    @property
    def artifacts(self) -> ArtifactService: ...

    @property
    def lineage(self) -> LineageService: ...

    @property
    def datasets(self) -> DatasetService: ...

    def start_run(
        self,
        experiment: str,
        *,
        run_name: str | None = None,
        tags: dict[str, str] | None = None,
        parent_run_id: str | None = None,
    ) -> ActiveRun: ...

    def close(self) -> None: ...


WorkspaceOpener = Callable[[], TrainingWorkspace]
"""A picklable callable that opens the same workspace in another process or on a Ray worker."""

WorkspaceReopener = Callable[[Principal], WorkspaceOpener]
"""Gives the opener for a principal (the one the current call acts for)."""
