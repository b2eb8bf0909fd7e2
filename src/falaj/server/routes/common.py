"""Shared pieces of the route modules: JSON rendering, bounded path and query values."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from falaj.client.codec import to_jsonable

__all__ = ["ModelName", "Name", "VersionNumber", "json_of"]

Name = Annotated[str, Path(min_length=1, max_length=200)]
ModelName = Annotated[str, Path(min_length=1, max_length=200)]
VersionNumber = Annotated[int, Path(ge=1, le=2_147_483_647)]


def json_of(value: Any) -> Any:
    return to_jsonable(value)
