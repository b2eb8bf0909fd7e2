"""What the training area needs from the workspace, as a structural type.

Training sits below the workspace in the layering, so it names the workspace's shape here rather
than importing it. ``falaj.workspace.Workspace`` satisfies :class:`WorkspaceLike`; the tracking,
registry, artifact, lineage and dataset services are reached through it with the calls in the
cross-area contract.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from falaj.config import Settings
from falaj.governance.principal import Principal

__all__ = ["WorkspaceLike", "WorkspaceOpener"]


class WorkspaceLike(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def principal(self) -> Principal: ...

    @property
    def tracking(self) -> Any: ...

    @property
    def registry(self) -> Any: ...

    @property
    def artifacts(self) -> Any: ...

    @property
    def lineage(self) -> Any: ...

    def start_run(
        self,
        experiment: str,
        *,
        run_name: str | None = None,
        tags: dict[str, str] | None = None,
        parent_run_id: str | None = None,
    ) -> Any: ...

    def close(self) -> None: ...


WorkspaceOpener = Callable[[], WorkspaceLike]
"""A picklable callable that opens the same workspace in another process or on a Ray worker."""
