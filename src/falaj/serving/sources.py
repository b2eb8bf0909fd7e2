"""Where a replica's revisions come from: a deployment in the store, or one model version.

:class:`DeploymentSource` polls the deployment's ``generation``, plans its active revisions,
loads each through the registry (the artifact's digest is checked on read, and must equal the
digest the revision pinned) and reports the replica's counts back to the store.
:class:`ModelSource` serves one ``NAME@ALIAS``/``NAME/VERSION``, resolved once at start.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from falaj.serving.errors import ModelLoadError
from falaj.serving.refs import parse_model_ref
from falaj.serving.replica import Plan, PlannedRevision
from falaj.serving.router import Target, parse_routing_key
from falaj.serving.runtime import ModelRuntime
from falaj.serving.stats import RevisionStats

if TYPE_CHECKING:
    from falaj.serving.ports import ModelCatalog
    from falaj.serving.service import ServingService

__all__ = ["DeploymentSource", "ModelSource", "load_runtime"]


def load_runtime(
    catalog: ModelCatalog,
    revision: PlannedRevision,
    *,
    trusted: bool = False,
    explainer_factory: Any | None = None,
    enrich: Any | None = None,
) -> ModelRuntime:
    """Load a revision's model, refusing one whose stored digest is not the pinned one."""
    mv = catalog.get_version(revision.model_name, revision.model_version)
    if mv.artifact_digest != revision.artifact_digest:
        raise ModelLoadError(
            f"model {revision.model_name}/{revision.model_version} is stored with digest "
            f"{mv.artifact_digest}, but the revision pinned {revision.artifact_digest}"
        )
    model = catalog.load_model(revision.model_name, revision.model_version, trusted=trusted)
    explainer = None
    if explainer_factory is not None:
        explainer = explainer_factory(revision.model_name, revision.model_version)
    return ModelRuntime(
        revision.model_name,
        revision.model_version,
        revision.artifact_digest,
        model,
        revision_id=revision.target.id,
        explainer=explainer,
        enrich=enrich,
    )


class DeploymentSource:
    """A deployment in the store (see the module docstring)."""

    def __init__(
        self,
        serving: ServingService,
        deployment: str,
        *,
        trusted: bool = False,
        explainer_factory: Any | None = None,
        enrich: Any | None = None,
    ) -> None:
        self._serving = serving
        self._name = deployment
        self._trusted = trusted
        self._explainer_factory = explainer_factory
        self._enrich = enrich

    def generation(self) -> int:
        return self._serving.generation(self._name)

    def plan(self) -> Plan:
        dep = self._serving.get_deployment(self._name)
        revisions = tuple(
            PlannedRevision(
                Target(r.id, r.weight, r.shadow_fraction, r.role == "shadow"),
                r.model_name,
                r.model_version,
                r.artifact_digest,
            )
            for r in dep.revisions
        )
        return Plan(
            dep.generation, dep.model_name, dep.name, parse_routing_key(dep.routing_key), revisions
        )

    def load(self, revision: PlannedRevision) -> ModelRuntime:
        return load_runtime(
            self._serving.links.catalog(),
            revision,
            trusted=self._trusted,
            explainer_factory=self._explainer_factory,
            enrich=self._enrich,
        )

    def report(self, start: dt.datetime, end: dt.datetime, stats: dict[str, RevisionStats]) -> None:
        self._serving.record_aggregates(self._name, _replica_name(), start, end, stats)


def _replica_name() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


class ModelSource:
    """One model version, resolved once (``credit@champion`` stays the version it named)."""

    def __init__(
        self,
        catalog: ModelCatalog,
        ref: str,
        *,
        trusted: bool = False,
        explainer_factory: Any | None = None,
        enrich: Any | None = None,
    ) -> None:
        name, version = parse_model_ref(ref)
        mv = catalog.get_version(name, version)
        self._catalog = catalog
        self._trusted = trusted
        self._explainer_factory = explainer_factory
        self._enrich = enrich
        self._revision = PlannedRevision(
            Target(f"{mv.name}-v{mv.version}", 100.0), mv.name, int(mv.version), mv.artifact_digest
        )

    def generation(self) -> int:
        return 1

    def plan(self) -> Plan:
        return Plan(1, self._revision.model_name, None, None, (self._revision,))

    def load(self, revision: PlannedRevision) -> ModelRuntime:
        return load_runtime(
            self._catalog,
            revision,
            trusted=self._trusted,
            explainer_factory=self._explainer_factory,
            enrich=self._enrich,
        )

    def report(self, start: dt.datetime, end: dt.datetime, stats: dict[str, RevisionStats]) -> None:
        return None  # a single model has no deployment to report to (Prometheus still counts)
