"""The Workspace: one metadata store, one artifact store and one principal, composed.

``Workspace.init(path)`` creates an embedded workspace (SQLite + local folder);
``Workspace.open(...)`` opens one, from a folder or from settings pointing at PostgreSQL and
S3-compatible storage. Services are built on first use, all sharing the workspace's store, so a
workspace is cheap to open and ``import falaj`` stays fast.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from falaj.artifacts.objects import ObjectStore
from falaj.artifacts.service import ArtifactService
from falaj.config import Settings, render_toml
from falaj.errors import AlreadyExistsError, NotFoundError
from falaj.governance.audit import AuditLog, record_event
from falaj.governance.authorization import Authorizer, LocalOwnerPolicy
from falaj.governance.principal import Principal
from falaj.governance.service import ServiceContext
from falaj.lineage.graph import LineageService
from falaj.store.metadata_store import MetadataStore
from falaj.store.schema import new_id, utcnow
from falaj.store.tables import workspace_info

if TYPE_CHECKING:  # capability services are imported on first use, not with the workspace
    from falaj.data.service import DatasetService
    from falaj.pipelines.service import PipelineService
    from falaj.registry.service import RegistryService
    from falaj.tracking.run import ActiveRun
    from falaj.tracking.service import TrackingService
    from falaj.training.service import TrainingService

__all__ = ["Workspace"]

_MARKER = "falaj.toml"
_INIT_KEYS = ("db_url", "artifact_uri", "region", "log_format")


class Workspace:
    """Entry point to everything Falaj stores. Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        settings: Settings,
        store: MetadataStore,
        objects: ObjectStore,
        principal: Principal,
        authorizer: Authorizer | None = None,
        *,
        owns_store: bool = True,
    ) -> None:
        self._settings = settings
        self._store = store
        self._objects = objects
        self._principal = principal
        self._authorizer = authorizer or LocalOwnerPolicy()
        self._owns_store = owns_store

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        path: str | Path,
        *,
        principal: Principal | None = None,
        exist_ok: bool = False,
        **settings: Any,
    ) -> Workspace:
        """Create a workspace in ``path`` (write ``falaj.toml``, create and migrate the DB)."""
        home = Path(path).expanduser().absolute()
        marker = home / _MARKER
        if marker.exists() and not exist_ok:
            raise AlreadyExistsError(f"a workspace already exists in {home}")
        resolved = Settings.load(home=home, **settings)
        home.mkdir(parents=True, exist_ok=True)
        if not marker.exists():
            keys = tuple(k for k in _INIT_KEYS if k in settings)
            marker.write_text(render_toml(resolved, keys), encoding="utf-8")
            resolved = Settings.load(home=home, **settings)
        ws = cls._connect(resolved, principal, auto_upgrade=True)
        try:
            ws._record_creation()
        except BaseException:
            ws.close()
            raise
        return ws

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        settings: Settings | None = None,
        principal: Principal | None = None,
        authorizer: Authorizer | None = None,
        **overrides: Any,
    ) -> Workspace:
        """Open the workspace in ``path`` (or ``$FALAJ_HOME``, or ``~/.falaj``).

        An embedded workspace is migrated on open; a PostgreSQL one must be migrated with
        ``falaj db upgrade`` first.
        """
        if settings is None:
            if path is not None:
                overrides["home"] = path
            settings = Settings.load(**overrides)
        elif overrides or path is not None:
            settings = settings.replace(**({"home": path} if path else {}), **overrides)
        if (
            settings.is_embedded
            and settings.db_url is None
            and not (settings.home / _MARKER).exists()
        ):
            raise NotFoundError(
                f"no Falaj workspace in {settings.home} (create one with `falaj init "
                f"{settings.home}` or Workspace.init)"
            )
        ws = cls._connect(
            settings, principal, auto_upgrade=settings.is_embedded, authorizer=authorizer
        )
        try:
            ws._record_creation()
        except BaseException:
            ws.close()
            raise
        return ws

    @classmethod
    def _connect(
        cls,
        settings: Settings,
        principal: Principal | None,
        *,
        auto_upgrade: bool,
        authorizer: Authorizer | None = None,
    ) -> Workspace:
        store = MetadataStore.connect(
            settings.metadata_url,
            auto_upgrade=auto_upgrade,
            sqlite_synchronous=settings.sqlite_synchronous,
        )
        try:
            objects = ObjectStore(settings.artifacts_url)
        except BaseException:
            store.close()
            raise
        return cls(settings, store, objects, principal or Principal.local(), authorizer)

    def _record_creation(self) -> None:
        if self._store.get_info("workspace_id") is not None:
            return
        with self._store.transaction() as conn:
            # Re-check inside the write transaction: another process may have won the race.
            exists = conn.execute(
                sa.select(workspace_info.c.value).where(workspace_info.c.key == "workspace_id")
            ).scalar_one_or_none()
            if exists is not None:
                return
            workspace_id = new_id()
            self._store.set_info(conn, "workspace_id", workspace_id)
            self._store.set_info(conn, "created_at", utcnow().isoformat())
            self._store.set_info(conn, "home_region", self._settings.region)
            record_event(
                conn,
                principal=self._principal,
                action="workspace.init",
                resource_type="workspace",
                resource_id=workspace_id,
                region=self._settings.region,
                details={"db": self._store.url, "artifacts": self._objects.uri},
            )

    def as_principal(self, principal: Principal) -> Workspace:
        """The same workspace acting as another principal (shares the store; close the original)."""
        return Workspace(
            self._settings,
            self._store,
            self._objects,
            principal,
            self._authorizer,
            owns_store=False,
        )

    # -- parts ---------------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def principal(self) -> Principal:
        return self._principal

    @property
    def store(self) -> MetadataStore:
        return self._store

    @property
    def home(self) -> Path:
        return self._settings.home

    @property
    def id(self) -> str:
        value = self._store.get_info("workspace_id")
        assert value is not None
        return value

    @property
    def created_at(self) -> dt.datetime | None:
        value = self._store.get_info("created_at")
        return dt.datetime.fromisoformat(value) if value else None

    def context(self) -> ServiceContext:
        """The context services are built from (store, principal, settings, policy)."""
        return ServiceContext(self._store, self._principal, self._settings, self._authorizer)

    @cached_property
    def artifacts(self) -> ArtifactService:
        return ArtifactService(self.context(), self._objects)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self._store)

    @cached_property
    def lineage(self) -> LineageService:
        return LineageService(self.context())

    @cached_property
    def tracking(self) -> TrackingService:
        """Experiments, runs, batched logging and run search (``falaj.tracking``)."""
        from falaj.tracking.service import TrackingService

        return TrackingService(self.context(), self.artifacts)

    def start_run(
        self,
        experiment: str,
        *,
        run_name: str | None = None,
        tags: dict[str, str] | None = None,
        parent_run_id: str | None = None,
    ) -> ActiveRun:
        """Start a tracked run (a context manager); same as ``ws.tracking.start_run``."""
        return self.tracking.start_run(
            experiment, run_name=run_name, tags=tags, parent_run_id=parent_run_id
        )

    @cached_property
    def registry(self) -> RegistryService:
        """Registered models, versions, aliases, evidence, gates, approvals (``falaj.registry``)."""
        from falaj.registry.links import RegistryLinks
        from falaj.registry.service import RegistryService

        links = RegistryLinks(
            artifacts=self.artifacts,
            lineage=self.lineage,
            tracking=lambda: self.tracking,
            datasets=lambda: self.datasets,
        )
        return RegistryService(self.context(), links)

    @cached_property
    def datasets(self) -> DatasetService:
        """Dataset versions, profiles, validation and anomaly detection (``falaj.data``)."""
        from falaj.data.service import DatasetService

        return DatasetService(self.context(), self.artifacts)

    @cached_property
    def pipelines(self) -> PipelineService:
        """Pipelines: run, resume, inspect, schedule (``falaj.pipelines``)."""
        from functools import partial

        from falaj.pipelines.service import PipelineService

        opener = partial(Workspace.open, settings=self._settings, principal=self._principal)
        return PipelineService(self.context(), self.artifacts, workspace=self, opener=opener)

    @cached_property
    def training(self) -> TrainingService:
        """HPO, evaluation, fairness audits, explanations, model cards (``falaj.training``)."""
        from functools import partial

        from falaj.training.service import TrainingService

        opener = partial(Workspace.open, settings=self._settings, principal=self._principal)
        return TrainingService(self.context(), self, opener)

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Flush buffered tracking writes, then release the store (if this workspace owns it)."""
        if "tracking" in self.__dict__:
            self.tracking.flush()
        if self._owns_store:
            self._store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Workspace(home={str(self.home)!r}, db={self._store.url!r}, "
            f"principal={self._principal})"
        )
