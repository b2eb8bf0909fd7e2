"""The registry's records: plain frozen dataclasses returned by :class:`RegistryService`."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from falaj.errors import InvalidInputError

__all__ = [
    "AliasMove",
    "Approval",
    "Evidence",
    "ModelVersion",
    "PromotionRecord",
    "RegisteredModel",
    "VersionStatus",
    "check_alias",
    "check_model_name",
    "check_reason",
    "check_tags",
    "check_text",
    "check_version_number",
    "parse_version_ref",
]

VersionStatus = Literal["READY", "ARCHIVED", "DELETED"]

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,199}$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
#: Aliases that would be ambiguous in ``get_version(name, "latest")``.
RESERVED_ALIASES = frozenset({"latest"})
MAX_TAG_KEY = 250
#: Version numbers are 32-bit integers in the metadata DB.
MAX_VERSION = 2**31 - 1
_DIGITS = re.compile(r"^[0-9]+$")


def check_model_name(name: object) -> str:
    if not isinstance(name, str) or not _MODEL_NAME.match(name):
        raise InvalidInputError(
            f"model name {name!r} is invalid: expected 1-200 characters of letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
    return name


def check_alias(alias: object) -> str:
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise InvalidInputError(
            f"alias {alias!r} is invalid: expected 1-64 characters of letters, digits, '_' or "
            "'-', starting with a letter (e.g. 'champion')"
        )
    if alias in RESERVED_ALIASES:
        raise InvalidInputError(f"alias {alias!r} is reserved: choose another name")
    return alias


def check_version_number(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int | str):
        raise InvalidInputError(f"version {version!r} is invalid: expected a positive integer")
    text = str(version).strip()
    if not _DIGITS.match(text) or not 0 < int(text) <= MAX_VERSION:
        raise InvalidInputError(
            f"version {version!r} is invalid: expected a positive integer up to {MAX_VERSION}"
        )
    return int(text)


def check_tags(tags: object) -> dict[str, str]:
    if not isinstance(tags, dict):
        raise InvalidInputError(f"tags {tags!r} are invalid: expected a dict of str to str")
    for key, value in tags.items():
        if not isinstance(key, str) or not key or len(key) > MAX_TAG_KEY:
            raise InvalidInputError(
                f"tag key {key!r} is invalid: expected a non-empty string of at most "
                f"{MAX_TAG_KEY} characters"
            )
        if not isinstance(value, str):
            raise InvalidInputError(f"tag {key!r} value {value!r} is invalid: expected a string")
    return dict(tags)


def check_text(field: str, value: object) -> None:
    from falaj.textcheck import check_text as check_storable

    check_storable(field, value)


def check_reason(reason: object) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInputError(
            f"reason {reason!r} is invalid: expected a non-empty explanation of the change"
        )


def parse_version_ref(ref: object) -> int | str:
    """``3``, ``"3"`` → 3; ``"champion"`` → ``"champion"``; ``"latest"`` stays ``"latest"``."""
    if isinstance(ref, bool):
        raise InvalidInputError(f"version {ref!r} is invalid: expected a number or an alias")
    if isinstance(ref, int):
        return check_version_number(ref)
    if isinstance(ref, str):
        text = ref.strip()
        if _DIGITS.match(text):
            return check_version_number(text)
        if text == "latest":
            return text
        return check_alias(text)
    raise InvalidInputError(
        f"version {ref!r} is invalid: expected a version number or an alias name"
    )


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    description: str | None
    latest_version: int
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    aliases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    run_id: str
    artifact_digest: str
    flavor: str
    status: VersionStatus
    created_by: str
    created_at: dt.datetime
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)
    source_uri: str = ""
    updated_at: dt.datetime | None = None
    aliases: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """``name/version``: the lineage node id and the audit resource id."""
        return f"{self.name}/{self.version}"


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias; ``to_version`` is None when the alias was deleted."""

    name: str
    alias: str
    from_version: int | None
    to_version: int | None
    moved_by: str
    moved_at: dt.datetime
    reason: str
    seq: int = 0


@dataclass(frozen=True)
class Evidence:
    id: str
    name: str
    version: int
    kind: str
    summary: dict[str, Any]
    artifact_digest: str | None
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Approval:
    id: str
    name: str
    version: int
    approver: str
    roles: tuple[str, ...]
    comment: str
    created_at: dt.datetime
    #: what the approval was given under (None on approvals recorded before migration r0002):
    #: the policy revision in force (0: no policy), the version's artifact digest, and how many
    #: evidence items other than model cards were attached
    policy_revision: int | None = None
    model_digest: str | None = None
    evidence_seen: int | None = None


@dataclass(frozen=True)
class PromotionRecord:
    """The change record of a promotion, as written to the audit trail."""

    id: str
    name: str
    version: int
    alias: str
    from_version: int | None
    requester: str
    approvers: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    gates: list[dict[str, Any]]
    risk: str
    policy_revision: int | None
    reason: str
    created_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.name,
            "version": self.version,
            "alias": self.alias,
            "from_version": self.from_version,
            "requester": self.requester,
            "approvers": self.approvers,
            "evidence": self.evidence,
            "gates": self.gates,
            "risk": self.risk,
            "policy_revision": self.policy_revision,
            "reason": self.reason,
            "time": self.created_at.isoformat(),
        }
