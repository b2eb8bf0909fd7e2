"""Content-addressed artifact store over fsspec (optionally envelope-encrypted at rest), and the
services that index, audit and manage its keys."""

from falaj.artifacts.digest import normalize_digest
from falaj.artifacts.encryption import EncryptedObjectStore, KeyShreddedError
from falaj.artifacts.keys import KeyService
from falaj.artifacts.objects import ObjectStore, ObjectStoreProtocol, WriteResult
from falaj.artifacts.service import ArtifactInfo, ArtifactService, VerifyReport

__all__ = [
    "ArtifactInfo",
    "ArtifactService",
    "EncryptedObjectStore",
    "KeyService",
    "KeyShreddedError",
    "ObjectStore",
    "ObjectStoreProtocol",
    "VerifyReport",
    "WriteResult",
    "normalize_digest",
]
