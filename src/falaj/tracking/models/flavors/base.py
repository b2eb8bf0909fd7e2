"""What a model flavor provides: detection, serialization to files, loading and prediction."""

from __future__ import annotations

import importlib.metadata
import sys
from typing import Any, Protocol

import numpy as np
import pandas as pd

__all__ = ["Flavor", "Saved", "versions"]


class Saved:
    """The files of a saved model (name → bytes) and the flavor's own metadata."""

    def __init__(self, files: dict[str, bytes], meta: dict[str, Any]) -> None:
        self.files = files
        self.meta = meta


class Flavor(Protocol):
    name: str
    #: True when loading runs arbitrary code (pickle): needs trusted=True both ways.
    needs_trust: bool

    def matches(self, model: Any) -> bool: ...

    def save(self, model: Any, *, trusted: bool) -> Saved: ...

    def load(self, files: dict[str, bytes], meta: dict[str, Any], *, trusted: bool) -> Any: ...

    def predict(self, raw: Any, frame: pd.DataFrame, meta: dict[str, Any]) -> np.ndarray: ...

    def predict_proba(
        self, raw: Any, frame: pd.DataFrame, meta: dict[str, Any]
    ) -> np.ndarray | None: ...

    def libraries(self) -> tuple[str, ...]: ...


def versions(distributions: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of ``distributions`` (and Python), for the manifest."""
    out = {"python": ".".join(str(v) for v in sys.version_info[:3])}
    for dist in ("numpy", "pandas", *distributions):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def module_loaded(model: Any, root: str) -> bool:
    """True when ``model``'s class comes from the package ``root`` (without importing it)."""
    return any(cls.__module__.split(".", 1)[0] == root for cls in type(model).__mro__)
