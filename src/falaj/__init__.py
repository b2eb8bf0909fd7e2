"""Falaj: one governed workflow from raw data to a monitored model in production.

The public API is curated here and loaded lazily, so ``import falaj`` reads no file, opens no
connection and imports no heavy library::

    import falaj
    with falaj.Workspace.init("./ws") as ws:
        info = ws.artifacts.put_bytes(b"hello", media_type="text/plain")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Workspace": "falaj.workspace",
    "Settings": "falaj.config",
    "Principal": "falaj.governance.principal",
    "request_scope": "falaj.governance.context",
    "ArtifactInfo": "falaj.artifacts.service",
    "AuditEvent": "falaj.governance.audit",
    "Node": "falaj.lineage.graph",
    "Edge": "falaj.lineage.graph",
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
    "Settings",
    "Workspace",
    "__version__",
    "request_scope",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from falaj.artifacts.service import ArtifactInfo
    from falaj.config import Settings
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
