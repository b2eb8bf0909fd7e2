"""The object store a workspace's settings describe: plain, or envelope-encrypted."""

from __future__ import annotations

from falaj.artifacts.objects import ObjectStore
from falaj.config import Settings

__all__ = ["object_store"]


def object_store(settings: Settings, url: str | None = None) -> ObjectStore:
    """The artifact store (or another object store at ``url`` under it, such as the prediction
    log's): envelope-encrypted when ``encryption = true`` (master keys in
    ``<home>/keys/master``)."""
    location = url or settings.artifacts_url
    if not settings.encryption:
        return ObjectStore(location)
    from falaj.artifacts.encryption import EncryptedObjectStore
    from falaj.governance.kms import FileKeyProvider

    keys = FileKeyProvider.for_home(settings.home)
    keys.current_key_id()  # the first master key is created with the workspace
    return EncryptedObjectStore(location, keys=keys)
