"""Data residency: which data classifications may live in which regions.

Stores and deployment targets declare a region (``Settings.region`` for the workspace's metadata
database and artifact store; a deployment target passes its own). A policy file says where each
classification of data (``pii``, ``sensitive``, ``confidential``... see
:mod:`falaj.data.classifications`) may live::

    # residency.toml
    [regions]
    pii = ["ae-dubai-1", "ae-abudhabi-1"]   # exact regions, or patterns: "ae-*"
    confidential = ["ae-*"]
    sensitive = ["ae-*", "sa-riyadh-1"]
    # classifications not listed may live anywhere

A write, copy, export or deployment that would place data carrying a classification outside its
allowed regions is refused (:class:`~falaj.governance.errors.ResidencyViolationError`, a
:class:`~falaj.errors.PolicyViolationError`), with a ``denied`` audit event naming the rule.
The metadata about governed data (its schema, profile, classifications) is held in the same
workspace, so a workspace whose region a classification does not allow cannot register such
data at all: the metadata is covered too.

Where it is checked: dataset registration (the workspace's region), dataset export
(``ws.datasets.export(..., region=...)``), and any deployment: the serving package calls
:meth:`ResidencyPolicy.check` with the model version's classifications (``ws.residency``
gathers them through lineage) and the target's region before it places a model.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from falaj.errors import ConfigError
from falaj.governance.errors import ResidencyViolationError

__all__ = ["POLICY_FILE", "ResidencyPolicy", "ResidencyRule", "labels_of"]

#: the policy file looked for in the workspace home when ``residency_policy`` is not set
POLICY_FILE = "residency.toml"


@dataclass(frozen=True)
class ResidencyRule:
    classification: str
    regions: tuple[str, ...]

    def allows(self, region: str) -> bool:
        return any(fnmatch.fnmatchcase(region, pattern) for pattern in self.regions)


@dataclass(frozen=True)
class ResidencyPolicy:
    """Allowed regions per classification; a classification without a rule may live anywhere."""

    rules: Mapping[str, ResidencyRule] = field(default_factory=dict)
    source: str = "(no residency policy)"

    @classmethod
    def load(cls, path: Path) -> ResidencyPolicy:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"residency policy {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"residency policy {path} is not valid TOML: {exc}") from None
        return cls.from_mapping(data, source=str(path))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "policy") -> ResidencyPolicy:
        unknown = set(data) - {"regions"}
        if unknown:
            raise ConfigError(f"residency policy {source}: unknown section(s) {sorted(unknown)}")
        regions = data.get("regions", {})
        if not isinstance(regions, dict):
            raise ConfigError(f"residency policy {source}: [regions] must be a table")
        rules: dict[str, ResidencyRule] = {}
        for label, allowed in regions.items():
            if (
                not isinstance(allowed, list)
                or not allowed
                or not all(isinstance(r, str) and r.strip() for r in allowed)
            ):
                raise ConfigError(
                    f"residency policy {source}: regions.{label} = {allowed!r} is invalid: "
                    'expected a non-empty list of region names or patterns, e.g. ["ae-*"]'
                )
            rules[str(label)] = ResidencyRule(str(label), tuple(r.strip() for r in allowed))
        return cls(rules, source)

    @classmethod
    def for_workspace(cls, home: Path, configured: Path | None) -> ResidencyPolicy:
        """The configured policy file, else ``<home>/residency.toml`` if present, else none."""
        if configured is not None:
            return cls.load(configured)
        default = home / POLICY_FILE
        return cls.load(default) if default.is_file() else cls()

    def allowed_regions(self, classification: str) -> tuple[str, ...] | None:
        """Patterns of the regions ``classification`` may live in (None: anywhere)."""
        rule = self.rules.get(classification)
        return None if rule is None else rule.regions

    def violations(self, classifications: Iterable[str], region: str) -> list[str]:
        """The classifications among ``classifications`` that may not live in ``region``."""
        return sorted(
            {c for c in classifications if c in self.rules and not self.rules[c].allows(region)}
        )

    def check(self, classifications: Iterable[str], region: str, what: str) -> None:
        """Refuse placing data with ``classifications`` in ``region`` (``what``: the operation,
        named in the error: "register dataset credit", "deploy model credit/3 to ...")."""
        bad = self.violations(classifications, region)
        if bad:
            rules = "; ".join(f"{c} may live only in {list(self.rules[c].regions)}" for c in bad)
            raise ResidencyViolationError(
                f"{what} refused: it would place data classified {bad} in region {region!r}, "
                f"but {rules} (residency policy {self.source})"
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rules": {c: list(r.regions) for c, r in sorted(self.rules.items())},
        }


def labels_of(classifications: Mapping[str, Iterable[str]] | None) -> set[str]:
    """Every label of a column → labels mapping (a dataset version's classifications)."""
    return {label for labels in (classifications or {}).values() for label in labels}
