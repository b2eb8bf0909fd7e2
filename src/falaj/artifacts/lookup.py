"""A digest as users type it: full, ``sha256:``-prefixed, or the short form list tables print."""

from __future__ import annotations

from falaj.artifacts.tables import artifacts
from falaj.store.metadata_store import MetadataStore
from falaj.store.prefix import resolve_prefix

__all__ = ["resolve_digest"]


def resolve_digest(store: MetadataStore, text: str) -> str:
    """The full digest ``text`` names: itself when it is 64 hex characters, else the one stored
    artifact whose digest starts with it (``artifacts list`` prints 16 characters).

    Anything that is neither is returned unchanged, so the caller's own check reports it.
    """
    digest = text.strip().removeprefix("sha256:").lower()
    if len(digest) == 64:
        return digest
    with store.read() as conn:
        full = resolve_prefix(conn, artifacts.c.digest, digest, "artifact digest")
    return full if full is not None else text
