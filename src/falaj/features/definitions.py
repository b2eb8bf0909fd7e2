"""Feature definitions as values: entities, feature views, feature services.

Definitions are frozen dataclasses validated on construction (a bad field raises
:class:`~falaj.features.errors.FeatureDefinitionError` naming the field, the value and what was
expected). :meth:`spec` is the canonical JSON-able form stored with each registered version; two
definitions are "the same" when their specs are equal, so re-applying one is a no-op and any
change makes a new version.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from falaj.features.errors import FeatureDefinitionError

__all__ = [
    "FEATURE_TYPES",
    "Definition",
    "Entity",
    "FeatureService",
    "FeatureView",
    "format_ttl",
    "parse_feature_ref",
    "parse_ttl",
]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
#: feature value types and the Arrow types a source column may have for each
FEATURE_TYPES: Mapping[str, tuple[str, ...]] = {
    "int64": ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32"),
    "int32": ("int8", "int16", "int32", "uint8", "uint16"),
    "float64": ("float", "double", "halffloat", "int8", "int16", "int32", "int64"),
    "float32": ("float", "halffloat"),
    "bool": ("bool",),
    "string": ("string", "large_string"),
}
_TTL = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _check_name(kind: str, field_name: str, value: object) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise FeatureDefinitionError(
            f"{kind} {field_name} {value!r} is invalid: expected a letter or _ then up to 99 "
            "letters, digits or _"
        )
    return value


def _check_text(kind: str, name: str, field_name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 2000:
        raise FeatureDefinitionError(
            f"{kind} {name!r}: {field_name} {str(value)[:60]!r} is invalid: expected text of "
            "at most 2000 characters"
        )
    return value


def parse_ttl(value: str | int | float | dt.timedelta | None, *, where: str = "ttl") -> int | None:
    """A TTL in whole seconds from ``"7d"``, ``"12h"``, ``"30m"``, ``"45s"``, ``"2w"``, seconds
    or a timedelta; ``None`` means the values never expire."""
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        seconds = -1.0
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _TTL.match(value)):
        seconds = float(int(match.group(1)) * _UNIT_S[match.group(2)])
    else:
        raise FeatureDefinitionError(
            f"{where} {value!r} is invalid: expected a duration like '7d', '12h', '30m', '45s' "
            "or '2w', a number of seconds, or a timedelta"
        )
    if seconds <= 0 or seconds != int(seconds):
        raise FeatureDefinitionError(f"{where} {value!r} is invalid: expected whole seconds > 0")
    return int(seconds)


def format_ttl(seconds: int | None) -> str:
    """``604800`` -> ``"7d"`` (the largest unit that divides it); ``None`` -> ``"never"``."""
    if seconds is None:
        return "never"
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNIT_S[unit] == 0:
            return f"{seconds // _UNIT_S[unit]}{unit}"
    return f"{seconds}s"


def parse_feature_ref(ref: object) -> tuple[str, str]:
    """``"view:feature"`` -> ``("view", "feature")``."""
    if not isinstance(ref, str) or ref.count(":") != 1:
        raise FeatureDefinitionError(
            f"feature reference {ref!r} is invalid: expected 'view:feature'"
        )
    view, feature = ref.split(":")
    _check_name("feature reference", "view", view)
    _check_name("feature reference", "feature", feature)
    return view, feature


@dataclass(frozen=True)
class Entity:
    """What features describe (a customer), identified by its join keys (``customer_id``)."""

    name: str
    join_keys: Sequence[str]
    description: str | None = None
    owner: str | None = None

    kind = "entity"

    def __post_init__(self) -> None:
        _check_name("entity", "name", self.name)
        keys = self.join_keys
        if isinstance(keys, str) or not isinstance(keys, Sequence) or not keys:
            raise FeatureDefinitionError(
                f"entity {self.name!r}: join_keys {keys!r} is invalid: expected a non-empty list "
                "of column names"
            )
        for key in keys:
            _check_name(f"entity {self.name!r}", "join key", key)
        if len(set(keys)) != len(keys):
            raise FeatureDefinitionError(
                f"entity {self.name!r}: join_keys {list(keys)!r} repeat a column"
            )
        object.__setattr__(self, "join_keys", tuple(keys))
        _check_text("entity", self.name, "description", self.description)
        _check_text("entity", self.name, "owner", self.owner)

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "join_keys": list(self.join_keys),
            "description": self.description,
            "owner": self.owner,
        }

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Entity:
        return cls(
            spec["name"],
            join_keys=spec["join_keys"],
            description=spec.get("description"),
            owner=spec.get("owner"),
        )


@dataclass(frozen=True)
class FeatureView:
    """Features of one or more entities, read from a registered dataset (``source``).

    ``timestamp`` is the column saying when each value became true (event time);
    ``created_timestamp``, when given, says when the row was written: a row created after a
    point in time is invisible at that point, so late-arriving data never leaks. ``ttl`` bounds
    how old a value may be and still count (offline and online); ``None`` never expires.
    ``source`` is a dataset name (its latest version is read) or ``"name@version"``.
    """

    name: str
    entities: Sequence[str]
    source: str
    timestamp: str
    features: Mapping[str, str]
    ttl: str | int | float | dt.timedelta | None = None
    created_timestamp: str | None = None
    owner: str | None = None
    description: str | None = None
    classification: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    kind = "feature_view"

    def __post_init__(self) -> None:
        where = f"feature view {self.name!r}"
        _check_name("feature view", "name", self.name)
        ents = self.entities
        if isinstance(ents, str) or not isinstance(ents, Sequence) or not ents:
            raise FeatureDefinitionError(
                f"{where}: entities {ents!r} is invalid: expected a non-empty list of entity names"
            )
        for ent in ents:
            _check_name(where, "entity", ent)
        object.__setattr__(self, "entities", tuple(ents))
        if not isinstance(self.source, str) or not re.match(
            r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,199}(@[1-9][0-9]*)?$", self.source
        ):
            raise FeatureDefinitionError(
                f"{where}: source {self.source!r} is invalid: expected a dataset name or "
                "'name@version'"
            )
        _check_name(where, "timestamp", self.timestamp)
        if self.created_timestamp is not None:
            _check_name(where, "created_timestamp", self.created_timestamp)
        feats = self.features
        if not isinstance(feats, Mapping) or not feats:
            raise FeatureDefinitionError(
                f"{where}: features {feats!r} is invalid: expected a mapping of feature name to "
                f"type ({', '.join(FEATURE_TYPES)})"
            )
        for fname, ftype in feats.items():
            _check_name(where, "feature", fname)
            if ftype not in FEATURE_TYPES:
                raise FeatureDefinitionError(
                    f"{where}: feature {fname!r} type {ftype!r} is invalid: expected one of "
                    f"{', '.join(FEATURE_TYPES)}"
                )
            if fname in (self.timestamp, self.created_timestamp):
                raise FeatureDefinitionError(
                    f"{where}: feature {fname!r} is also the view's timestamp column"
                )
        object.__setattr__(self, "features", dict(feats))
        object.__setattr__(self, "ttl", parse_ttl(self.ttl, where=f"{where}: ttl"))
        for attr in ("owner", "description", "classification"):
            _check_text("feature view", self.name, attr, getattr(self, attr))
        if not isinstance(self.tags, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.tags.items()
        ):
            raise FeatureDefinitionError(f"{where}: tags {self.tags!r} is invalid: expected text")
        object.__setattr__(self, "tags", dict(self.tags))

    @property
    def ttl_seconds(self) -> int | None:
        ttl = self.ttl
        assert ttl is None or isinstance(ttl, int)
        return ttl

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "entities": list(self.entities),
            "source": self.source,
            "timestamp": self.timestamp,
            "created_timestamp": self.created_timestamp,
            "features": dict(self.features),
            "ttl": self.ttl_seconds,
            "owner": self.owner,
            "description": self.description,
            "classification": self.classification,
            "tags": dict(self.tags),
        }

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> FeatureView:
        return cls(
            spec["name"],
            entities=spec["entities"],
            source=spec["source"],
            timestamp=spec["timestamp"],
            features=spec["features"],
            ttl=spec.get("ttl"),
            created_timestamp=spec.get("created_timestamp"),
            owner=spec.get("owner"),
            description=spec.get("description"),
            classification=spec.get("classification"),
            tags=spec.get("tags") or {},
        )


@dataclass(frozen=True)
class FeatureService:
    """A named set of features a model consumes (``["cust_stats:balance", ...]``)."""

    name: str
    features: Sequence[str]
    description: str | None = None
    owner: str | None = None

    kind = "feature_service"

    def __post_init__(self) -> None:
        _check_name("feature service", "name", self.name)
        refs = self.features
        if isinstance(refs, str) or not isinstance(refs, Sequence) or not refs:
            raise FeatureDefinitionError(
                f"feature service {self.name!r}: features {refs!r} is invalid: expected a "
                "non-empty list of 'view:feature'"
            )
        for ref in refs:
            parse_feature_ref(ref)
        if len(set(refs)) != len(refs):
            raise FeatureDefinitionError(
                f"feature service {self.name!r}: features {list(refs)!r} repeat a feature"
            )
        object.__setattr__(self, "features", tuple(refs))
        _check_text("feature service", self.name, "description", self.description)
        _check_text("feature service", self.name, "owner", self.owner)

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "features": list(self.features),
            "description": self.description,
            "owner": self.owner,
        }

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> FeatureService:
        return cls(
            spec["name"],
            features=spec["features"],
            description=spec.get("description"),
            owner=spec.get("owner"),
        )


Definition = Entity | FeatureView | FeatureService
