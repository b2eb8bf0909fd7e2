"""Feature definitions from YAML (read with the project's bounded safe loader).

The document is a mapping with up to three lists::

    entities:
      - {name: customer, join_keys: [customer_id]}
    feature_views:
      - name: cust_stats
        entities: [customer]
        source: cust_events          # a registered dataset
        timestamp: event_ts
        created_timestamp: loaded_at # optional
        features: {balance: float64, txn_count: int64}
        ttl: 7d
        owner: risk-team
    feature_services:
      - {name: credit_model, features: ["cust_stats:balance"]}

Unknown keys and malformed values raise :class:`~falaj.features.errors.FeatureDefinitionError`
naming the document, the item and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from falaj.features.definitions import Definition, Entity, FeatureService, FeatureView
from falaj.features.errors import FeatureDefinitionError
from falaj.yamlsafe import load_yaml, read_yaml_file

__all__ = ["definitions_from_yaml", "load_definitions"]

_SECTIONS: dict[str, tuple[Callable[[Mapping[str, Any]], Definition], frozenset[str]]] = {
    "entities": (Entity.from_spec, frozenset({"name", "join_keys", "description", "owner"})),
    "feature_views": (
        FeatureView.from_spec,
        frozenset(
            {
                "name",
                "entities",
                "source",
                "timestamp",
                "created_timestamp",
                "features",
                "ttl",
                "owner",
                "description",
                "classification",
                "tags",
            }
        ),
    ),
    "feature_services": (
        FeatureService.from_spec,
        frozenset({"name", "features", "description", "owner"}),
    ),
}
_REQUIRED = {
    "entities": ("name", "join_keys"),
    "feature_views": ("name", "entities", "source", "timestamp", "features"),
    "feature_services": ("name", "features"),
}


def definitions_from_yaml(text: str, *, source: str = "<yaml>") -> list[Definition]:
    """The definitions in a YAML document, entities first, then views, then services."""
    doc = load_yaml(text, source=source, error=FeatureDefinitionError)
    if doc is None:
        raise FeatureDefinitionError(f"{source}: the document is empty: expected {_expected()}")
    if not isinstance(doc, dict):
        raise FeatureDefinitionError(
            f"{source}: the document is not a mapping: expected {_expected()}"
        )
    unknown = sorted(str(k) for k in doc if k not in _SECTIONS)
    if unknown:
        raise FeatureDefinitionError(
            f"{source}: unknown section(s) {', '.join(unknown)}: expected {_expected()}"
        )
    out: list[Definition] = []
    for section, (build, allowed) in _SECTIONS.items():
        items = doc.get(section) or []
        if not isinstance(items, list):
            raise FeatureDefinitionError(f"{source}: {section} is not a list")
        for index, item in enumerate(items):
            where = f"{source}: {section}[{index}]"
            if not isinstance(item, dict):
                raise FeatureDefinitionError(f"{where} is not a mapping")
            extra = sorted(str(k) for k in item if k not in allowed)
            if extra:
                raise FeatureDefinitionError(
                    f"{where}: unknown field(s) {', '.join(extra)}: expected some of "
                    f"{', '.join(sorted(allowed))}"
                )
            missing = [k for k in _REQUIRED[section] if k not in item]
            if missing:
                raise FeatureDefinitionError(f"{where}: missing field(s) {', '.join(missing)}")
            try:
                out.append(build(item))
            except FeatureDefinitionError as exc:
                raise FeatureDefinitionError(f"{where}: {exc}") from None
    return out


def load_definitions(path: str | Path) -> list[Definition]:
    """The definitions in the YAML file ``path``."""
    try:
        text = read_yaml_file(path, error=FeatureDefinitionError)
    except FileNotFoundError:
        raise FeatureDefinitionError(f"definitions file {str(path)!r} does not exist") from None
    return definitions_from_yaml(text, source=str(path))


def _expected() -> str:
    return "a mapping with entities, feature_views and/or feature_services lists"
