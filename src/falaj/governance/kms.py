"""Key management: the master keys that wrap per-object data keys (envelope encryption).

:class:`KeyProvider` is the plugin interface for a KMS or HSM (AWS KMS, Vault transit, a PKCS#11
token): it wraps and unwraps 32-byte data keys under a named master key and never hands the
master key out. :class:`FileKeyProvider` is the embedded default: master keys are 32 random bytes
in ``<home>/keys/master/<key id>.key`` (mode 0600), ``current`` names the one new data keys are
wrapped with. Wrapping is AES-256-GCM with the object's identity as associated data, so a
wrapped key copied onto another object does not unwrap.

``rotate`` makes a new current master key (old ones stay until nothing is wrapped by them);
``destroy`` overwrites and deletes a master key: every data key it wrapped, and so every object
encrypted under them, becomes unreadable (crypto-shredding).
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from falaj.errors import InvalidInputError, NotFoundError
from falaj.governance.keyfile import KEYS_DIR, read_key_file, read_or_create_key_file

__all__ = ["FileKeyProvider", "KeyDestroyedError", "KeyProvider", "MasterKeyInfo"]

_KEY_ID = re.compile(r"mk-[0-9a-f]{16}")
_NONCE = 12


class KeyDestroyedError(NotFoundError):
    """The master key was destroyed (crypto-shredded): what it wrapped cannot be read again."""


@dataclass(frozen=True)
class MasterKeyInfo:
    key_id: str
    current: bool
    destroyed: bool


@runtime_checkable
class KeyProvider(Protocol):
    """What envelope encryption needs from a KMS/HSM (plugins implement this)."""

    def current_key_id(self) -> str: ...

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        """Wrap ``data_key`` under the current master key; returns (key id, wrapped bytes)."""
        ...

    def unwrap(self, key_id: str, wrapped: bytes, context: bytes) -> bytes: ...

    def rotate(self) -> str:
        """Make a new master key current; returns its id."""
        ...

    def destroy(self, key_id: str) -> None: ...

    def list_keys(self) -> list[MasterKeyInfo]: ...


class FileKeyProvider:
    """Master keys in files under ``<home>/keys/master`` (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    @classmethod
    def for_home(cls, home: Path) -> FileKeyProvider:
        return cls(home / KEYS_DIR / "master")

    @property
    def folder(self) -> Path:
        return self._folder

    def _path(self, key_id: str) -> Path:
        if not _KEY_ID.fullmatch(key_id):
            raise InvalidInputError(
                f"master key id {key_id!r} is invalid: expected 'mk-' and 16 hex digits"
            )
        return self._folder / f"{key_id}.key"

    def current_key_id(self) -> str:
        pointer = self._folder / "current"
        if pointer.exists():
            return pointer.read_text(encoding="ascii").strip()
        key_id = f"mk-{secrets.token_hex(8)}"
        read_or_create_key_file(self._path(key_id))
        read_or_create_key_file(pointer, content=key_id.encode("ascii"))
        # another process may have won the race for the pointer: use whatever it says
        return pointer.read_text(encoding="ascii").strip()

    def _key(self, key_id: str) -> bytes:
        path = self._path(key_id)
        if not path.exists():
            if path.with_suffix(".destroyed").exists():
                raise KeyDestroyedError(
                    f"master key {key_id} was destroyed (crypto-shredded): data it protected "
                    "cannot be read"
                )
            raise NotFoundError(f"master key {key_id} is not in {self._folder}")
        return read_key_file(path)

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key_id = self.current_key_id()
        nonce = os.urandom(_NONCE)
        aad = key_id.encode("ascii") + b"\n" + context
        return key_id, nonce + AESGCM(self._key(key_id)).encrypt(nonce, data_key, aad)

    def unwrap(self, key_id: str, wrapped: bytes, context: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        from falaj.errors import IntegrityError

        master = self._key(key_id)
        aad = key_id.encode("ascii") + b"\n" + context
        try:
            return AESGCM(master).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], aad)
        except InvalidTag:
            raise IntegrityError(
                f"a data key wrapped by {key_id} does not unwrap: it was altered or moved onto "
                "another object"
            ) from None

    def rotate(self) -> str:
        key_id = f"mk-{secrets.token_hex(8)}"
        read_or_create_key_file(self._path(key_id))
        pointer = self._folder / "current"
        tmp = pointer.with_name(f".current.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key_id)
        tmp.replace(pointer)
        return key_id

    def destroy(self, key_id: str) -> None:
        path = self._path(key_id)
        if not path.exists():
            raise NotFoundError(f"master key {key_id} is not in {self._folder}")
        if key_id == self.current_key_id():
            raise InvalidInputError(
                f"master key {key_id} is the current one: rotate first (`falaj keys rotate`)"
            )
        size = path.stat().st_size
        with path.open("r+b") as fh:  # overwrite before unlinking (best effort on SSDs)
            fh.write(os.urandom(size))
            fh.flush()
            os.fsync(fh.fileno())
        path.with_suffix(".destroyed").write_text(key_id, encoding="ascii")
        path.unlink()

    def list_keys(self) -> list[MasterKeyInfo]:
        if not self._folder.exists():
            return []
        current = (
            (self._folder / "current").read_text(encoding="ascii").strip()
            if (self._folder / "current").exists()
            else None
        )
        ids = {p.stem for p in self._folder.glob("mk-*.key")}
        gone = {p.stem for p in self._folder.glob("mk-*.destroyed")}
        return [
            MasterKeyInfo(k, k == current, k in gone and k not in ids) for k in sorted(ids | gone)
        ]
