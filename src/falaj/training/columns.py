"""Which columns of a training frame may be model inputs, from the data's classifications.

- ``identifier`` and ``pii`` columns are never features (an id leaks row identity, personal data
  has no place in a model's inputs); naming one in ``use_sensitive`` is refused.
- ``sensitive`` columns (race, sex, age...) are not features unless the search spec lists them in
  ``use_sensitive`` explicitly; that choice is recorded on the search run (``features.*``
  params), in the evaluation evidence and in the model card.
- ``exclude`` drops further columns by name.

The selection happens before the search, so every trial, the refit model and its signature see
only the chosen columns, whatever preprocessor is used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from falaj.training.errors import SearchSpaceError

__all__ = ["NEVER_FEATURES", "FeatureSelection", "select_features"]

#: Classification labels whose columns are never model inputs.
NEVER_FEATURES = ("identifier", "pii")


@dataclass(frozen=True)
class FeatureSelection:
    """The model inputs chosen from a training frame, and why the others were dropped."""

    features: tuple[str, ...]
    dropped: dict[str, str]
    use_sensitive: tuple[str, ...]
    classifications: dict[str, list[str]]

    def run_params(self) -> dict[str, Any]:
        """What the search run records about its inputs."""
        return {
            "features.count": len(self.features),
            "features.dropped": ", ".join(f"{c} ({why})" for c, why in self.dropped.items())
            or "none",
            "features.use_sensitive": ", ".join(self.use_sensitive) or "none",
        }


def select_features(
    X: pd.DataFrame,
    classifications: Mapping[str, Sequence[str]] | None,
    *,
    use_sensitive: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> tuple[pd.DataFrame, FeatureSelection]:
    """``X`` without the columns that may not be features, and the record of the choice."""
    labels = {str(c): sorted(set(v)) for c, v in (classifications or {}).items()}
    columns = [str(c) for c in X.columns]
    for field, names in (("use_sensitive", use_sensitive), ("exclude", exclude)):
        unknown = [n for n in names if n not in columns]
        if unknown:
            raise SearchSpaceError(
                f"search {field} names column(s) {unknown} that the training data does not have "
                f"(columns: {columns[:20]})"
            )
    dropped: dict[str, str] = {}
    for column in columns:
        tags = labels.get(column, [])
        never = [t for t in NEVER_FEATURES if t in tags]
        if never:
            if column in use_sensitive:
                raise SearchSpaceError(
                    f"search use_sensitive names column {column!r}, classified {never[0]!r}: "
                    "identifier and pii columns are never features"
                )
            dropped[column] = f"classified {never[0]}"
        elif "sensitive" in tags and column not in use_sensitive:
            dropped[column] = "classified sensitive (not in use_sensitive)"
        elif column in exclude:
            dropped[column] = "excluded by the spec"
    not_sensitive = [c for c in use_sensitive if "sensitive" not in labels.get(c, [])]
    if not_sensitive:
        raise SearchSpaceError(
            f"search use_sensitive names column(s) {not_sensitive} that are not classified "
            "sensitive: list only sensitive columns there (use exclude to drop others)"
        )
    features = [c for c in columns if c not in dropped]
    if not features:
        raise SearchSpaceError(
            f"no column is left to train on: every column was dropped ({dropped})"
        )
    selection = FeatureSelection(
        features=tuple(features),
        dropped=dropped,
        use_sensitive=tuple(c for c in columns if c in use_sensitive),
        classifications={c: labels[c] for c in columns if c in labels},
    )
    return X.loc[:, [c for c in X.columns if str(c) not in dropped]], selection
