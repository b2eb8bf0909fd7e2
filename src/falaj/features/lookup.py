"""Online reads: a plan (which views, keys, features, TTLs) and its execution.

:class:`FeatureLookup` is the serving hook: a callable bound to a set of features (usually a
feature service) that turns entity keys into feature values, so callers of a model send ids, not
feature vectors, and the values come from the same definitions the model was trained on::

    lookup = ws.features.lookup("credit_model")          # a feature service name or refs
    lookup({"customer_id": 42})  # {"balance": 12.5, ..., "cust_stats__fresh": True}
    lookup.many({"customer_id": [1, 2, 3]})              # {"balance": [...], ...}

A lookup is authorized once, when it is built (``feature.online_read``), and is bound to the
definition versions in force then: build a new one after ``apply``. It is thread-safe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from falaj.errors import InvalidInputError
from falaj.features.keys import encode_key
from falaj.features.online.base import OnlineStore

__all__ = ["FeatureLookup", "OnlinePlan", "ViewPlan", "fresh_column", "read_columns"]


def fresh_column(view: str) -> str:
    return f"{view}__fresh"


@dataclass(frozen=True)
class ViewPlan:
    view: str
    join_keys: tuple[str, ...]
    ttl_seconds: int | None
    features: tuple[str, ...]
    names: tuple[str, ...]


@dataclass(frozen=True)
class OnlinePlan:
    views: tuple[ViewPlan, ...]

    @property
    def join_keys(self) -> list[str]:
        return list(dict.fromkeys(k for v in self.views for k in v.join_keys))

    @property
    def columns(self) -> list[str]:
        out: list[str] = []
        for v in self.views:
            out += [*v.names, fresh_column(v.view)]
        return out


def _column_values(entities: Mapping[str, Any], keys: Sequence[str]) -> tuple[list[list[Any]], int]:
    missing = [k for k in keys if k not in entities]
    if missing:
        raise InvalidInputError(
            f"entities lack join key(s) {', '.join(missing)}: expected a column per join key "
            f"({', '.join(keys)})"
        )
    cols = []
    for k in keys:
        value = entities[k]
        if isinstance(value, str | bytes) or not hasattr(value, "__len__"):
            value = [value]
        cols.append(list(value))
    n = len(cols[0]) if cols else 0
    if any(len(c) != n for c in cols):
        raise InvalidInputError(
            f"entities columns {list(keys)} have different lengths: expected one value per row"
        )
    return cols, n


def _keys(cols: list[list[Any]], join_keys: Sequence[str]) -> list[str]:
    if len(cols) == 1:  # the common case, kept cheap: one key column
        return [
            v if type(v) is str else str(v) if type(v) is int else encode_key((v,), join_keys)
            for v in cols[0]
        ]
    return [encode_key(row, join_keys) for row in zip(*cols, strict=True)]


def read_columns(
    plan: OnlinePlan, store: OnlineStore, entities: Mapping[str, Any], now: dt.datetime
) -> tuple[dict[str, list[Any]], int]:
    """Feature columns (and one freshness column per view) for the entity rows given."""
    out: dict[str, list[Any]] = {}
    now_s = now.timestamp()
    loads = orjson.loads
    n = 0
    for vp in plan.views:
        cols, n = _column_values(entities, vp.join_keys)
        keys = _keys(cols, vp.join_keys)
        found = store.read(vp.view, keys) if keys else {}
        ttl = vp.ttl_seconds
        payloads: list[dict[str, Any] | None] = []
        fresh: list[bool] = []
        for key in keys:
            hit = found.get(key)
            if hit is not None and (ttl is None or now_s - hit[0] <= ttl):
                payloads.append(loads(hit[1]))
                fresh.append(True)
            else:
                payloads.append(None)
                fresh.append(False)
        for feature, name in zip(vp.features, vp.names, strict=True):
            out[name] = [None if p is None else p.get(feature) for p in payloads]
        out[fresh_column(vp.view)] = fresh
    return out, n


class FeatureLookup:
    """Entity keys in, feature values out, from the online store (see the module docstring)."""

    def __init__(
        self, plan: OnlinePlan, store: OnlineStore, clock: Callable[[], dt.datetime]
    ) -> None:
        self._plan = plan
        self._store = store
        self._clock = clock

    @property
    def join_keys(self) -> list[str]:
        return self._plan.join_keys

    @property
    def columns(self) -> list[str]:
        return self._plan.columns

    def __call__(self, entity: Mapping[str, Any]) -> dict[str, Any]:
        """One entity (``{"customer_id": 42}``) -> ``{feature: value, view__fresh: bool}``."""
        columns, _ = read_columns(self._plan, self._store, entity, self._clock())
        return {name: values[0] for name, values in columns.items()}

    def many(self, entities: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
        """Several entities (``{"customer_id": [1, 2]}``) -> columns of values, in order."""
        columns, _ = read_columns(self._plan, self._store, entities, self._clock())
        return columns
