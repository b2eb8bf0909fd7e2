"""The one exception tree of Falaj.

Every error Falaj raises on purpose is a :class:`FalajError`. Adapters translate third-party
errors (SQLAlchemy, fsspec, botocore, ...) into one of these, raising ``from`` the original, so
callers never need to know which backend is underneath::

    FalajError
    ├── NotFoundError
    ├── AlreadyExistsError
    ├── InvalidInputError
    │   ├── ConfigError
    │   └── SchemaError
    ├── IntegrityError
    ├── ConflictError
    ├── PermissionDeniedError
    ├── PolicyViolationError
    ├── BackendUnavailableError
    │   └── MigrationRequiredError
    └── ExecutionError

Capability packages subclass these (e.g. ``tracking.errors.RunNotActiveError(ConflictError)``)
rather than growing parallel roots.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExistsError",
    "BackendUnavailableError",
    "ConfigError",
    "ConflictError",
    "ExecutionError",
    "FalajError",
    "IntegrityError",
    "InvalidInputError",
    "MigrationRequiredError",
    "NotFoundError",
    "PermissionDeniedError",
    "PolicyViolationError",
    "SchemaError",
]


class FalajError(Exception):
    """Root of every error Falaj raises on purpose.

    ``exit_code`` is what the CLI exits with when this error reaches it.
    """

    exit_code: int = 1


class NotFoundError(FalajError):
    """A named resource (run, model version, artifact, dataset...) does not exist."""

    exit_code = 3


class AlreadyExistsError(FalajError):
    """Creating a resource whose identity is already taken."""

    exit_code = 4


class InvalidInputError(FalajError, ValueError):
    """Input that does not fit: names the field, the value and what was expected."""

    exit_code = 2


class ConfigError(InvalidInputError):
    """A setting is unknown or malformed; names the key and where it came from."""


class SchemaError(InvalidInputError):
    """Data that does not match a declared schema or signature."""


class IntegrityError(FalajError):
    """Stored bytes or rows are not what they claim to be (digest mismatch, truncation)."""

    exit_code = 5


class ConflictError(FalajError):
    """The operation is valid in general but not in the resource's current state."""

    exit_code = 6


class PermissionDeniedError(FalajError):
    """The principal is not allowed to do this."""

    exit_code = 7


class PolicyViolationError(FalajError):
    """A governance policy (gate, residency, separation of duties) forbids this."""

    exit_code = 8


class BackendUnavailableError(FalajError):
    """A backend (database, object store, cache, cluster) cannot be reached or used."""

    exit_code = 9


class MigrationRequiredError(BackendUnavailableError):
    """The metadata database schema is older than this version of Falaj."""


class ExecutionError(FalajError):
    """User code (a pipeline step, a trial, a model) failed while Falaj ran it."""

    exit_code = 10


def preview(value: object, limit: int = 80) -> str:
    """A bounded ``repr`` of ``value``: how user input is quoted in an error message.

    Large or hostile input (a 5 MB string, a billion-laughs structure, deep nesting) is never
    echoed in full: nesting, items and characters are cut (``reprlib``), and the result is at most
    about ``limit`` characters, saying how long a cut string was.
    """
    import reprlib

    shower = reprlib.Repr()
    shower.maxlevel = 3
    shower.maxstring = shower.maxother = max(limit, 10)
    shower.maxlist = shower.maxtuple = shower.maxdict = shower.maxset = 6
    original = value
    for base in (list, dict, tuple):  # reprlib shortens only the exact built-in types
        if isinstance(value, base) and type(value) is not base:
            value = base(value)
            break
    try:
        text = shower.repr(value)
    except (RecursionError, ValueError):
        text = f"<{type(value).__name__}>"
    if len(text) > limit:
        text = text[:limit] + "..."
    if isinstance(original, str | bytes) and len(original) > limit:
        kind = "characters" if isinstance(original, str) else "bytes"
        text += f" ({len(original):,} {kind})"
    return text
