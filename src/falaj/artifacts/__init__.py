"""Content-addressed artifact store over fsspec, and the service that indexes and audits it."""

from falaj.artifacts.digest import normalize_digest
from falaj.artifacts.objects import ObjectStore, ObjectStoreProtocol, WriteResult
from falaj.artifacts.service import ArtifactInfo, ArtifactService, VerifyReport

__all__ = [
    "ArtifactInfo",
    "ArtifactService",
    "ObjectStore",
    "ObjectStoreProtocol",
    "VerifyReport",
    "WriteResult",
    "normalize_digest",
]
