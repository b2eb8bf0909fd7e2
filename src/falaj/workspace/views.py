"""``ws.as_principal(p)``: a view of a workspace whose every call runs in a request scope."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from falaj.config import Settings
from falaj.governance.context import request_scope
from falaj.governance.principal import Principal

__all__ = ["ActingAs"]


class ActingAs:
    """A view of a workspace whose every call runs in ``request_scope(principal=...)``."""

    def __init__(self, target: Any, principal: Principal, authenticated: Principal) -> None:
        self._target = target
        self._principal = principal
        self._authenticated = authenticated

    def __getattr__(self, name: str) -> Any:
        with request_scope(principal=self._principal, authenticated=self._authenticated):
            value = getattr(self._target, name)
        if name.startswith("_") or isinstance(value, str | int | float | bool | Path | Settings):
            return value
        if callable(value):
            return self._wrap(value)
        if hasattr(value, "__dict__") and not isinstance(value, type):
            return ActingAs(value, self._principal, self._authenticated)
        return value

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            with request_scope(principal=self._principal, authenticated=self._authenticated):
                return fn(*args, **kwargs)

        return call

    def close(self) -> None:
        """Closing a view closes nothing: the workspace it views stays open."""

    def __enter__(self) -> ActingAs:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __repr__(self) -> str:
        return f"{self._target!r} acting as {self._principal}"
