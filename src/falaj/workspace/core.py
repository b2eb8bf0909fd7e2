"""The Workspace: one metadata store, one artifact store and one principal, composed.

``Workspace.init(path)`` creates an embedded workspace (SQLite + local folder);
``Workspace.open(...)`` opens one, from a folder or from settings pointing at PostgreSQL and
S3-compatible storage. Services are built on first use, all sharing the workspace's store, so a
workspace is cheap to open and ``import falaj`` stays fast.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import cached_property, partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection

from falaj.artifacts.objects import ObjectStore
from falaj.artifacts.service import ArtifactService
from falaj.config import Settings, write_config
from falaj.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from falaj.governance.audit import Actor, record_event
from falaj.governance.audit_log import AuditLog
from falaj.governance.authorization import Authorizer, LocalOwnerPolicy
from falaj.governance.context import current_scope, request_scope
from falaj.governance.ledger import open_chain
from falaj.governance.principal import Principal
from falaj.governance.service import ServiceContext
from falaj.lineage.graph import LineageService
from falaj.store.metadata_store import MetadataStore
from falaj.store.schema import new_id, utcnow
from falaj.workspace.stores import object_store as _object_store

if TYPE_CHECKING:  # capability services are imported on first use, not with the workspace
    from falaj.artifacts.keys import KeyService
    from falaj.data.service import DatasetService
    from falaj.features.service import FeatureStoreService
    from falaj.governance.compliance import ComplianceReport, ComplianceService
    from falaj.governance.identity.service import IdentityService
    from falaj.governance.model_signing import ModelSigning
    from falaj.monitoring.service import MonitoringService
    from falaj.pipelines.service import PipelineService
    from falaj.registry.service import RegistryService
    from falaj.serving.ports import FeedbackSink, PredictionSink
    from falaj.serving.service import ServingService
    from falaj.tracking.run import ActiveRun
    from falaj.tracking.service import TrackingService
    from falaj.training.service import TrainingService
    from falaj.workspace.adapters import MonitoringAccuracy

__all__ = ["Workspace"]

_MARKER = "falaj.toml"
_INIT_KEYS = (
    "db_url",
    "artifact_uri",
    "region",
    "log_format",
    "encryption",
    "signing_mode",
    "residency_policy",
)


class Workspace:
    """Entry point to everything Falaj stores. Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        settings: Settings,
        store: MetadataStore,
        objects: ObjectStore,
        principal: Principal | None,
        authorizer: Authorizer | None = None,
        *,
        owns_store: bool = True,
    ) -> None:
        self._settings = settings
        self._store = store
        self._objects = objects
        self._principal = principal
        #: the identity that really opened the workspace. A workspace opened in-process (SQLite
        #: or PostgreSQL, no server in between) trusts the OS user; the server authenticates
        #: each request's token and opens a request scope with that identity instead.
        #: ``principal=None`` (a server's workspace): no default identity at all.
        self._authenticated = Principal.local() if principal is not None else None
        self._authorizer: Authorizer = authorizer or LocalOwnerPolicy()
        self._owns_store = owns_store
        self._context = ServiceContext(
            store, principal, settings, self._authorizer, self._authenticated
        )

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
            write_config(marker, resolved, keys)
            resolved = Settings.load(home=home, **settings)
        ws = cls._connect(resolved, principal, auto_upgrade=True)
        try:
            ws.model_signing  # noqa: B018  # the signing key is created with the workspace
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
    def open_for_server(
        cls, settings: Settings, authorizer: Callable[[MetadataStore], Authorizer]
    ) -> Workspace:
        """The workspace a server serves: no default principal (nothing runs unless a request
        scope names an authenticated principal) and the policy ``authorizer(store)`` builds.

        The workspace must exist already (``falaj init`` / ``falaj db upgrade``).
        """
        store = MetadataStore.connect(
            settings.metadata_dsn,
            auto_upgrade=settings.is_embedded,
            sqlite_synchronous=settings.sqlite_synchronous,
        )
        try:
            if store.get_info("workspace_id") is None:
                raise NotFoundError(
                    f"no Falaj workspace in {settings.home} (create one with `falaj init`)"
                )
            # the same ledger key and artifact encryption as an in-process workspace
            open_chain(store, settings.home)
            objects = _object_store(settings)
            return cls(settings, store, objects, None, authorizer(store))
        except BaseException:
            store.close()
            raise

    @classmethod
    def connect(cls, url: str | None = None, *, token: str | None = None) -> Any:
        """A remote workspace served by ``falaj server`` at ``url`` (default
        ``$FALAJ_SERVER_URL``), authenticated with ``token`` (default ``$FALAJ_TOKEN``): the
        same Python API for tracking, registry, artifacts and datasets (``falaj.client``)."""
        import falaj

        return falaj.connect(url, token=token)

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
            settings.metadata_dsn,
            auto_upgrade=auto_upgrade,
            sqlite_synchronous=settings.sqlite_synchronous,
        )
        try:
            open_chain(store, settings.home)
            objects = _object_store(settings)
        except BaseException:
            store.close()
            raise
        return cls(settings, store, objects, principal or Principal.local(), authorizer)

    def _record_creation(self) -> None:
        if self._store.get_info("workspace_id") is not None:
            return
        with self._store.transaction() as conn:
            # Re-check inside the write transaction: another process may have won the race.
            exists = self._store.get_info("workspace_id", conn)
            if exists is not None:
                return
            workspace_id = new_id()
            self._store.set_info(conn, "workspace_id", workspace_id)
            self._store.set_info(conn, "created_at", utcnow().isoformat())
            self._store.set_info(conn, "home_region", self._settings.region)
            record_event(
                conn,
                actor=self._context.actor(),
                action="workspace.init",
                resource_type="workspace",
                resource_id=workspace_id,
                region=self._settings.region,
                details={"db": self._store.url, "artifacts": self._objects.uri},
            )

    def as_principal(self, principal: Principal) -> Workspace:
        """The same workspace (the same services, one tracking writer) acting as ``principal``:
        every call made through the returned view runs in ``request_scope(principal=...)``.

        The identity that authenticated stays the caller's and is recorded beside the acted-as
        principal in every audit event; checks like separation of duties judge both.
        """
        if not isinstance(principal, Principal):
            raise InvalidInputError(f"principal {principal!r} is invalid: expected a Principal")
        from falaj.workspace.views import ActingAs

        return cast(Workspace, ActingAs(self, principal, self.authenticated))

    def acting_as(self, principal: Principal) -> AbstractContextManager[str]:
        """A block in which every call of this workspace acts as ``principal`` (see
        :meth:`as_principal`); yields the request id."""
        return request_scope(principal=principal, authenticated=self.authenticated)

    @property
    def authenticated(self) -> Principal:
        """The identity that authenticated the current call (scope first, then the opener)."""
        scope = current_scope()
        if scope is not None and scope.authenticated is not None:
            return scope.authenticated
        if self._authenticated is None:
            return self._context.actor().authenticated  # raises: nobody authenticated
        return self._authenticated

    # -- parts ---------------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def principal(self) -> Principal:
        """The principal the current call acts for (the request scope's, else the default)."""
        return self._context.actor().principal

    def actor(self) -> Actor:
        return self._context.actor()

    @property
    def objects_store(self) -> ObjectStore:
        """The object store under the artifact service (encrypted or not)."""
        return self._objects

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
        """The context every service is built from (store, settings, policy, default identity)."""
        return self._context

    def unit_of_work(self) -> AbstractContextManager[Connection]:
        """One transaction that every service call inside the block joins: their changes,
        lineage edges and audit events commit together or not at all."""
        return self._store.unit_of_work()

    @cached_property
    def artifacts(self) -> ArtifactService:
        return ArtifactService(self._context, self._objects)

    @cached_property
    def keys(self) -> KeyService:
        """Master keys of encryption at rest: list, rotate, shred (``falaj.artifacts.keys``)."""
        from falaj.artifacts.keys import KeyService

        return KeyService(self._context, self._objects)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self._context)

    @cached_property
    def identity(self) -> IdentityService:
        """Users, service accounts, role bindings and API tokens (``falaj.governance.identity``)."""
        from falaj.governance.identity.service import IdentityService

        return IdentityService(self._context)

    @cached_property
    def lineage(self) -> LineageService:
        return LineageService(self._context)

    @cached_property
    def tracking(self) -> TrackingService:
        """Experiments, runs, batched logging and run search (``falaj.tracking``)."""
        from falaj.tracking.service import TrackingService

        return TrackingService(self._context, self.artifacts)

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
            signing=self.model_signing,
        )
        return RegistryService(self._context, links)

    @cached_property
    def model_signing(self) -> ModelSigning:
        """The workspace's model signer (``keys/signing.key``), the keys it trusts (its own and
        ``keys/trusted/*.pem``) and its ``signing_mode`` (``falaj.governance.signing``)."""
        from falaj.governance.model_signing import ModelSigning
        from falaj.governance.signing import Ed25519FileSigner, TrustedKeys

        signer = Ed25519FileSigner.for_home(self.home)
        trusted = TrustedKeys.for_home(self.home, own=signer)
        return ModelSigning(signer, trusted, self._settings.signing_mode)

    @cached_property
    def datasets(self) -> DatasetService:
        """Dataset versions, profiles, validation and anomaly detection (``falaj.data``)."""
        from falaj.data.service import DatasetService

        return DatasetService(self._context, self.artifacts)

    @cached_property
    def features(self) -> FeatureStoreService:
        """Feature definitions, point-in-time training data, online store (``falaj.features``).

        The online store is Redis when ``settings.redis_url`` is set (keys prefixed with the
        workspace id), else SQLite in the workspace folder (``online.db``).
        """
        from falaj.features.links import FeatureLinks
        from falaj.features.online.base import open_online_store
        from falaj.features.service import FeatureStoreService

        links = FeatureLinks(artifacts=self.artifacts, datasets=lambda: self.datasets)
        settings = self._settings
        online = partial(
            open_online_store,
            settings.home,
            settings.redis_url,
            redis_prefix=f"falaj:{self.id}:",  # workspaces can share one Redis database
        )
        return FeatureStoreService(self._context, links, online)

    @cached_property
    def pipelines(self) -> PipelineService:
        """Pipelines: run, resume, inspect, schedule (``falaj.pipelines``)."""
        from falaj.pipelines.service import PipelineService

        return PipelineService(self._context, self.artifacts, workspace=self, opener=self._reopener)

    @cached_property
    def training(self) -> TrainingService:
        """HPO, evaluation, fairness audits, explanations, model cards (``falaj.training``)."""
        from falaj.training.service import TrainingService

        return TrainingService(self._context, self, self._reopener)

    # -- residency (issue 16) -------------------------------------------------------------------
    def model_classifications(self, name: str, version: int) -> dict[str, list[str]]:
        """The data classifications a model version carries: every label of every dataset
        version upstream of it in lineage (label -> the dataset versions that carry it)."""
        from falaj.governance.residency import labels_of
        from falaj.lineage.graph import Node

        carried: dict[str, set[str]] = {}
        for edge in self.lineage.upstream(Node("model_version", f"{name}/{version}")):
            if edge.source.kind != "dataset_version":
                continue
            dataset = self.datasets.get(edge.source.id)
            for label in labels_of(dataset.classifications):
                carried.setdefault(label, set()).add(dataset.id)
        return {label: sorted(ids) for label, ids in sorted(carried.items())}

    def check_deployment_residency(self, name: str, version: int, region: str) -> None:
        """The deployment hook: refuse (and audit) placing model ``name`` ``version`` in
        ``region`` when the data it was trained on may not live there. Serving calls it (or
        ``Service.check_residency`` with :meth:`model_classifications`) before it deploys."""
        labels = self.model_classifications(name, version)
        self.registry.check_residency(
            "model.load",
            "model_version",
            f"{name}/{version}",
            classifications=labels,
            region=region,
            what=f"deploy model {name}/{version} to region {region!r}",
        )

    # -- compliance (issue 16) ------------------------------------------------------------------
    @cached_property
    def compliance(self) -> ComplianceService:
        """Builds the compliance report (see :meth:`compliance_report`)."""
        from falaj.governance.compliance import ComplianceService

        return ComplianceService(self._context)

    def compliance_report(self) -> ComplianceReport:
        """Where every dataset and model lives, encryption, signatures, the audit chain, transport
        encryption and residency violations (authorized as ``compliance.report``)."""
        return self.compliance.report(self._compliance_facts)

    def _compliance_facts(self) -> dict[str, Any]:
        from falaj.workspace.compliance import compliance_facts

        return compliance_facts(self)

    @cached_property
    def monitoring(self) -> MonitoringService:
        """Prediction log, feedback, drift, performance, monitors and alerts
        (``falaj.monitoring``)."""
        from falaj.monitoring.ports import MonitoringLinks
        from falaj.monitoring.service import MonitoringService
        from falaj.workspace.adapters import ServingRequestStats

        # predictions hold production inputs: encrypted at rest like every artifact when the
        # workspace encrypts (retention deletes them, so they live outside the shared index)
        objects = _object_store(
            self._settings, self._settings.artifacts_url.rstrip("/") + "/prediction-log"
        )
        links = MonitoringLinks(
            artifacts=self.artifacts,
            lineage=self.lineage,
            objects=objects,
            registry=lambda: self.registry,
            datasets=lambda: self.datasets,
            pipelines=lambda: self.pipelines,
            request_stats=lambda: ServingRequestStats(self),
        )
        return MonitoringService(self._context, links)

    @cached_property
    def serving(self) -> ServingService:
        """Deployments, traffic, rollouts and request aggregates (``falaj.serving``)."""
        from falaj.serving.ports import ServingLinks
        from falaj.serving.service import ServingService

        links = ServingLinks(
            catalog=lambda: self.registry,
            prediction_sink=lambda: self._prediction_sink(),
            feedback_sink=lambda: self._feedback_sink(),
            explainer=self._serving_explainer,
            feature_lookup=lambda service: self.features.lookup(service),
            residency=self.check_deployment_residency,
        )
        return ServingService(self._context, links)

    def _serving_explainer(self, name: str, version: int, background: str) -> Any:
        """The training area's per-prediction explainer of a version, over a background
        dataset (``NAME`` or ``NAME@VERSION``), for the model server's ``/explain``."""
        dataset, _, number = background.partition("@")
        if number and not number.isdigit():
            raise InvalidInputError(
                f"background dataset {background!r} is invalid: expected NAME or NAME@VERSION"
            )
        frame = self.datasets.load(dataset, int(number) if number else None)
        return self.training.explainer(name, version, frame)

    def _prediction_sink(self) -> PredictionSink | None:
        """Where served predictions are logged: monitoring's prediction log, sampled and with
        ``pii`` columns hashed or dropped as the settings say (asynchronous, batched)."""
        return self.monitoring.prediction_log(
            sample_rate=self._settings.prediction_sample_rate,
            pii_action=self._settings.prediction_pii,
        )

    def _feedback_sink(self) -> FeedbackSink | None:
        """Where feedback labels go: monitoring's feedback (labels joined to request ids)."""
        return self.monitoring

    def rollout_accuracy(self) -> MonitoringAccuracy:
        """Monitoring's accuracy of a deployment revision's answers from feedback, for the
        rollout controller (serving's ``AccuracySource``)."""
        from falaj.workspace.adapters import MonitoringAccuracy

        return MonitoringAccuracy(self)

    def serving_collectors(self, models: list[tuple[str, int | None]]) -> tuple[Any, ...]:
        """Prometheus collectors of monitoring's latest drift and metric results for the
        served ``(model, version)`` pairs, for the model server's ``/metrics``."""
        return tuple(self.monitoring.collector(name, version) for name, version in models)

    def _reopener(self, principal: Principal) -> Callable[[], Workspace]:
        """A picklable callable that opens this workspace again, acting as ``principal`` (for
        worker processes and Ray tasks)."""
        return partial(Workspace.open, settings=self._settings, principal=principal)

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Flush buffered tracking writes, then release the store (if this workspace owns it)."""
        if "tracking" in self.__dict__:
            self.tracking.flush()
        if "monitoring" in self.__dict__:
            self.monitoring.close()
        if "features" in self.__dict__:
            self.features.close()
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
