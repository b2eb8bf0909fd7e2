"""The object a step receives (``ctx: StepContext``): workspace access and lineage links."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from falaj.lineage.graph import Node

if TYPE_CHECKING:
    import pandas as pd

    from falaj.artifacts.service import ArtifactService
    from falaj.data.service import DatasetService
    from falaj.data.versions import DatasetVersion
    from falaj.lineage.graph import LineageService
    from falaj.registry.service import RegistryService
    from falaj.tracking.run import ActiveRun
    from falaj.tracking.service import TrackingService

__all__ = ["StepContext", "StepWorkspace"]


class StepWorkspace(Protocol):
    """The workspace as a step sees it (``falaj.workspace.Workspace`` satisfies it); typed by
    each neighbour's service so mypy checks what steps call."""

    @property
    def tracking(self) -> TrackingService: ...

    @property
    def registry(self) -> RegistryService: ...

    @property
    def datasets(self) -> DatasetService: ...

    @property
    def artifacts(self) -> ArtifactService: ...

    @property
    def lineage(self) -> LineageService: ...

    def start_run(
        self,
        experiment: str,
        *,
        run_name: str | None = None,
        tags: dict[str, str] | None = None,
        parent_run_id: str | None = None,
    ) -> ActiveRun: ...

    def close(self) -> None: ...


@dataclass
class StepContext:
    """Given to a step that declares a ``ctx`` parameter (or one annotated ``StepContext``).

    ``ws`` is the workspace (re-opened in the worker for process and Ray executors). Runs the
    step opens with :meth:`start_run` are tagged with the step run and linked in lineage;
    :meth:`used` and :meth:`produced` link any other node (a dataset version, a model version).
    :meth:`load_dataset` reads a registered dataset; read by name, the version it resolves to
    is part of the step's cache key (:mod:`falaj.pipelines.dataset_reads`).
    """

    pipeline_run_id: str
    step_run_id: str
    step: str
    attempt: int
    _workspace: Any = None
    _opener: Callable[[], StepWorkspace] | None = None
    links: list[tuple[str, str, str]] = field(default_factory=list)
    _opened: Any = None

    @property
    def ws(self) -> StepWorkspace:
        if self._workspace is None:
            if self._opener is None:
                from falaj.errors import ConfigError

                raise ConfigError(
                    f"step {self.step!r}: no workspace is available to this step (in-memory "
                    "stores cannot be shared with worker processes)"
                )
            self._opened = self._opener()
            self._workspace = self._opened
        ws: StepWorkspace = self._workspace
        return ws

    @property
    def log(self) -> logging.Logger:
        """A logger whose INFO and above records are stored with the step run's logs."""
        logger = logging.getLogger(f"falaj.step.{self.step}")
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
        return logger

    def start_run(self, experiment: str, **kwargs: Any) -> Any:
        """``ws.start_run`` tagged with this pipeline and step run; linked step_run -> run."""
        tags = dict(kwargs.pop("tags", None) or {})
        tags.setdefault("falaj.pipeline_run_id", self.pipeline_run_id)
        tags.setdefault("falaj.step_run_id", self.step_run_id)
        tags.setdefault("falaj.step", self.step)
        active = self.ws.start_run(experiment, tags=tags, **kwargs)
        self.links.append(("out", "run", str(active.id)))
        return active

    def used(self, kind: str, node_id: str) -> None:
        """Record that this step read ``kind:node_id`` (e.g. a dataset version)."""
        Node(kind, node_id)  # validates
        self.links.append(("in", kind, node_id))

    def dataset(self, ref: str) -> DatasetVersion:
        """The dataset version ``ref`` names: ``"name"`` resolves to the latest version *now*
        (and that version becomes part of this step's cache key), ``"name@3"`` to version 3.

        Either way the version is linked to the step run in lineage.
        """
        from falaj.pipelines.dataset_reads import READ

        version = self.ws.datasets.get(ref)
        pinned = "@" in ref
        self.links.append(("in" if pinned else READ, "dataset_version", version.id))
        return version

    def load_dataset(self, ref: str) -> pd.DataFrame:
        """The rows of :meth:`dataset` ``(ref)`` as a DataFrame (bytes verified on read)."""
        version = self.dataset(ref)
        frame: pd.DataFrame = self.ws.datasets.load(version.name, version.version)
        return frame

    def produced(self, kind: str, node_id: str) -> None:
        """Record that this step made ``kind:node_id`` (e.g. a model version)."""
        Node(kind, node_id)
        self.links.append(("out", kind, node_id))

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()
            self._opened = None
