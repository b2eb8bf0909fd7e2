"""``ws.keys``: the master keys of encryption at rest, their rotation and crypto-shredding.

Every change is authorized (``key.rotate``, ``key.shred``: admin) and audited. ``shred`` takes
either a master key id (``mk-...``: every object whose data key it wraps becomes unreadable) or
an artifact digest (``sha256:...``: that object's data key is destroyed, for an erasure request).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from falaj.artifacts.digest import normalize_digest
from falaj.artifacts.encryption import EncryptedObjectStore
from falaj.artifacts.objects import ObjectStore
from falaj.errors import ConfigError, InvalidInputError, NotFoundError
from falaj.governance.authorization import Action
from falaj.governance.kms import MasterKeyInfo
from falaj.governance.service import Service, ServiceContext

__all__ = ["KeyService", "RotationReport", "ShredReport"]

_MASTER = re.compile(r"mk-[0-9a-f]{16}")


@dataclass(frozen=True)
class RotationReport:
    previous_key_id: str
    key_id: str
    rewrapped: int
    already_current: int
    unreadable: list[str]


@dataclass(frozen=True)
class ShredReport:
    key_id: str
    kind: str  # "master" or "object"
    objects: int


class KeyService(Service):
    """Key management for an encrypted artifact store."""

    def __init__(self, context: ServiceContext, objects: ObjectStore) -> None:
        super().__init__(context)
        self._objects = objects

    def _store(self) -> EncryptedObjectStore:
        if not isinstance(self._objects, EncryptedObjectStore):
            raise ConfigError(
                "this workspace does not encrypt artifacts at rest (setting encryption = true "
                "in falaj.toml turns it on for new objects)"
            )
        return self._objects

    def list(self) -> list[MasterKeyInfo]:
        self.authorize(Action.KEY_READ, "key", "*")
        store = self._store()
        store.keys.current_key_id()
        return store.keys.list_keys()

    def rotate(self) -> RotationReport:
        """Make a new master key current and re-wrap every data key under it (no data is
        re-encrypted). Old master keys stay until destroyed (``shred``)."""
        actor = self.authorize(Action.KEY_ROTATE, "key", "*")
        store = self._store()
        previous = store.keys.current_key_id()
        new = store.keys.rotate()
        result = store.rewrap()
        report = RotationReport(previous, new, result.rewrapped, result.current, result.unreadable)
        self.audit(
            Action.KEY_ROTATE,
            "key",
            new,
            details={
                "previous": previous,
                "rewrapped": report.rewrapped,
                "unreadable": report.unreadable[:50],
                "by": actor.principal.name,
            },
            authorized=True,
        )
        return report

    def shred(self, key_id: str) -> ShredReport:
        """Destroy a master key (``mk-...``) or one object's data key (``sha256:...``)."""
        text = str(key_id).strip()
        if _MASTER.fullmatch(text):
            self.authorize(Action.KEY_SHRED, "key", text)
            store = self._store()
            wrapped = sum(1 for d in store.iter_key_records() if store.key_id_of(d) == text)
            store.keys.destroy(text)
            report = ShredReport(text, "master", wrapped)
        else:
            try:
                digest = normalize_digest(text)
            except InvalidInputError:
                raise InvalidInputError(
                    f"key id {text!r} is invalid: expected a master key id (mk- and 16 hex "
                    "digits) or an artifact digest (sha256:<64 hex>)"
                ) from None
            self.authorize(Action.KEY_SHRED, "artifact", digest)
            store = self._store()
            if not store.shred(digest):
                raise NotFoundError(f"artifact {digest} has no data key to shred")
            report = ShredReport(digest, "object", 1)
        self.audit(
            Action.KEY_SHRED,
            "key" if report.kind == "master" else "artifact",
            report.key_id,
            details={"kind": report.kind, "objects": report.objects},
            authorized=True,
        )
        return report
