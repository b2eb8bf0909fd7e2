"""Expectation suites shipped with Falaj (YAML files next to this module)."""

from __future__ import annotations

from pathlib import Path

from falaj.errors import NotFoundError

__all__ = ["builtin_suite", "builtin_suites"]

_HERE = Path(__file__).parent


def builtin_suites() -> list[str]:
    return sorted(p.stem for p in _HERE.glob("*.yaml"))


def builtin_suite(name: str) -> Path:
    """Path of the shipped suite ``name`` (e.g. ``"german_credit"``)."""
    path = _HERE / f"{name}.yaml"
    if not path.is_file():
        raise NotFoundError(f"no built-in suite {name!r} (available: {builtin_suites()})")
    return path
