"""What the feature store needs from its neighbours, wired by the workspace.

``falaj.features`` and ``falaj.data`` are siblings: the feature store never imports the data
package. It reads a source dataset's version (its Parquet digest and schema) and registers
training sets through the narrow :class:`DatasetsAPI` Protocol that ``ws.datasets`` satisfies,
and reads the Parquet bytes (digest-verified) from the artifact store below both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from falaj.artifacts.service import ArtifactService

__all__ = ["DatasetsAPI", "FeatureLinks", "SourceVersion"]


class SourceVersion(Protocol):
    """A dataset version as the feature store sees it (``falaj.data.DatasetVersion`` fits)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def artifact_digest(self) -> str: ...

    @property
    def schema(self) -> list[dict[str, str]]: ...

    @property
    def id(self) -> str: ...


class DatasetsAPI(Protocol):
    """The part of ``ws.datasets`` the feature store uses."""

    def get(self, name: str, version: int | None = None) -> SourceVersion: ...

    def register(
        self,
        name: str,
        data: Any,
        *,
        classifications: dict[str, list[str]] | None = None,
        description: str | None = None,
        derived_from: str | None = None,
        require_rows: bool = False,
    ) -> SourceVersion: ...


@dataclass(frozen=True)
class FeatureLinks:
    artifacts: ArtifactService
    datasets: Callable[[], DatasetsAPI]
