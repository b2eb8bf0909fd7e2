"""Checks and normalisation of what callers hand the feature store (frames, times, sources)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from falaj.errors import InvalidInputError
from falaj.features.definitions import FEATURE_TYPES, FeatureView
from falaj.features.errors import FeatureDefinitionError
from falaj.features.links import SourceVersion

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["as_columns", "check_columns", "entity_timestamp", "utc"]


def utc(moment: dt.datetime) -> dt.datetime:
    if not isinstance(moment, dt.datetime):
        raise InvalidInputError(f"time {moment!r} is invalid: expected a datetime")
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def type_fits(feature_type: str, arrow_type: str) -> bool:
    base = arrow_type.split("[")[0]
    return base in FEATURE_TYPES[feature_type]


def as_columns(entities: Any) -> dict[str, list[Any]]:
    if hasattr(entities, "to_dict") and hasattr(entities, "columns"):
        return {str(k): list(v) for k, v in entities.to_dict(orient="list").items()}
    if not isinstance(entities, Mapping):
        raise InvalidInputError(
            f"entities {type(entities).__name__} is invalid: expected a mapping of join key to "
            "values, or a DataFrame"
        )
    out: dict[str, list[Any]] = {}
    for k, v in entities.items():
        out[str(k)] = [v] if isinstance(v, str | bytes) or not hasattr(v, "__len__") else list(v)
    return out


def entity_timestamp(frame: pd.DataFrame, given: str | None) -> str:
    import pandas as pd

    if given is not None:
        if given not in frame.columns:
            raise InvalidInputError(
                f"timestamp column {given!r} is not in entity_df: it has {list(frame.columns)}"
            )
        return given
    if "event_timestamp" in frame.columns:
        return "event_timestamp"
    stamps = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    if len(stamps) != 1:
        raise InvalidInputError(
            "entity_df timestamp column is ambiguous: name it with timestamp=... (expected an "
            f"'event_timestamp' column or exactly one datetime column; found {stamps})"
        )
    return str(stamps[0])


def check_columns(view: FeatureView, keys: Sequence[str], source: SourceVersion) -> None:
    types = {c["name"]: c["type"] for c in source.schema}
    where = f"feature view {view.name!r} (source {source.id})"
    for key in keys:
        if key not in types:
            raise FeatureDefinitionError(f"{where}: join key {key!r} is not a source column")
    for col in (view.timestamp, view.created_timestamp):
        if col is None:
            continue
        if col not in types:
            raise FeatureDefinitionError(f"{where}: timestamp {col!r} is not a source column")
        if not types[col].startswith(("timestamp", "date")):
            raise FeatureDefinitionError(
                f"{where}: timestamp {col!r} has type {types[col]}: expected a timestamp"
            )
    for feature, ftype in view.features.items():
        if feature not in types:
            raise FeatureDefinitionError(
                f"{where}: feature {feature!r} is not a source column (it has {', '.join(types)})"
            )
        if not type_fits(ftype, types[feature]):
            raise FeatureDefinitionError(
                f"{where}: feature {feature!r} is declared {ftype} but the source column is "
                f"{types[feature]}"
            )
