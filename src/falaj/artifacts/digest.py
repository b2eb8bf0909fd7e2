"""sha256 digests: the identity of every stored object."""

from __future__ import annotations

import hashlib
import re

from falaj.errors import InvalidInputError

__all__ = ["ALGORITHM", "normalize_digest", "sha256_bytes"]

ALGORITHM = "sha256"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def normalize_digest(value: str) -> str:
    """``sha256:<hex>`` or ``<hex>`` → the 64 lowercase hex characters; anything else is invalid."""
    if not isinstance(value, str):
        raise InvalidInputError(f"digest must be a string, got {type(value).__name__}")
    text = value.strip().lower()
    if text.startswith(f"{ALGORITHM}:"):
        text = text[len(ALGORITHM) + 1 :]
    if not _HEX64.match(text):
        raise InvalidInputError(
            f"digest {value!r} is invalid: "
            "expected 64 hex characters, optionally prefixed with 'sha256:'"
        )
    return text


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
