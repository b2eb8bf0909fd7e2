"""Falaj: one governed workflow from raw data to a monitored model in production.

The public API is curated here and loaded lazily, so ``import falaj`` reads no file, opens no
connection and imports no heavy library::

    import falaj
    with falaj.Workspace.init("./ws") as ws:
        version = ws.datasets.register("loans", dataframe)
        with ws.start_run("credit") as run:
            run.log_metric("auc", 0.81)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Workspace": "falaj.workspace",
    "connect": "falaj.client",
    "Settings": "falaj.config",
    "Principal": "falaj.governance.principal",
    "request_scope": "falaj.governance.context",
    "ArtifactInfo": "falaj.artifacts.service",
    "AuditEvent": "falaj.governance.audit",
    "Node": "falaj.lineage.graph",
    "Edge": "falaj.lineage.graph",
    "step": "falaj.pipelines.step",
    "pipeline": "falaj.pipelines.graph",
    "StepContext": "falaj.pipelines.context",
    "Suite": "falaj.data.expectations",
    "SearchSpec": "falaj.training.spec",
    "FairnessPolicy": "falaj.training.fairness",
    "FalajError": "falaj.errors",
    "NotFoundError": "falaj.errors",
    "AlreadyExistsError": "falaj.errors",
    "InvalidInputError": "falaj.errors",
    "ConfigError": "falaj.errors",
    "SchemaError": "falaj.errors",
    "IntegrityError": "falaj.errors",
    "ConflictError": "falaj.errors",
    "PermissionDeniedError": "falaj.errors",
    "PolicyViolationError": "falaj.errors",
    "BackendUnavailableError": "falaj.errors",
    "MigrationRequiredError": "falaj.errors",
    "ExecutionError": "falaj.errors",
}

__all__ = [
    "AlreadyExistsError",
    "ArtifactInfo",
    "AuditEvent",
    "BackendUnavailableError",
    "ConfigError",
    "ConflictError",
    "Edge",
    "ExecutionError",
    "FairnessPolicy",
    "FalajError",
    "IntegrityError",
    "InvalidInputError",
    "MigrationRequiredError",
    "Node",
    "NotFoundError",
    "PermissionDeniedError",
    "PolicyViolationError",
    "Principal",
    "SchemaError",
    "SearchSpec",
    "Settings",
    "StepContext",
    "Suite",
    "Workspace",
    "__version__",
    "connect",
    "pipeline",
    "request_scope",
    "step",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from falaj.artifacts.service import ArtifactInfo
    from falaj.config import Settings
    from falaj.data.expectations import Suite
    from falaj.errors import (
        AlreadyExistsError,
        BackendUnavailableError,
        ConfigError,
        ConflictError,
        ExecutionError,
        FalajError,
        IntegrityError,
        InvalidInputError,
        MigrationRequiredError,
        NotFoundError,
        PermissionDeniedError,
        PolicyViolationError,
        SchemaError,
    )
    from falaj.governance.audit import AuditEvent
    from falaj.governance.context import request_scope
    from falaj.governance.principal import Principal
    from falaj.lineage.graph import Edge, Node
    from falaj.pipelines.context import StepContext
    from falaj.pipelines.graph import pipeline
    from falaj.pipelines.step import step
    from falaj.training.fairness import FairnessPolicy
    from falaj.training.spec import SearchSpec
    from falaj.workspace import Workspace


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'falaj' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
