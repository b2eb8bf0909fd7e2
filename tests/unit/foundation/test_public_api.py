from __future__ import annotations

import subprocess
import sys

import falaj
from falaj import errors


def test_public_api_is_pinned() -> None:
    assert falaj.__all__ == sorted(falaj.__all__)
    assert set(falaj.__all__) == {
        "AlreadyExistsError",
        "ArtifactInfo",
        "AuditEvent",
        "BackendUnavailableError",
        "ConfigError",
        "ConflictError",
        "Edge",
        "FairnessPolicy",
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
    }
    for name in falaj.__all__:
        assert getattr(falaj, name) is not None


def test_import_falaj_loads_no_heavy_library() -> None:
    code = (
        "import sys, falaj; "
        "heavy = [m for m in ('sqlalchemy', 'pandas', 'sklearn', 'fsspec', 'alembic') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_error_descends_from_falaj_error() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.FalajError)
    assert issubclass(errors.ConfigError, errors.InvalidInputError)
    assert issubclass(errors.MigrationRequiredError, errors.BackendUnavailableError)
    assert issubclass(errors.InvalidInputError, ValueError)
