"""The artifact service: stores bytes, indexes them, audits every write."""

from __future__ import annotations

import builtins
import datetime as dt
import io
import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa

from falaj.artifacts.digest import normalize_digest
from falaj.artifacts.objects import ObjectStore, WriteResult
from falaj.artifacts.tables import artifacts
from falaj.errors import IntegrityError, InvalidInputError, NotFoundError
from falaj.governance.audit import Actor
from falaj.governance.authorization import Action
from falaj.governance.context import machinery
from falaj.governance.service import Service, ServiceContext
from falaj.store.dml import insert_ignore
from falaj.store.schema import utcnow

__all__ = ["ArtifactInfo", "ArtifactService", "GcReport", "VerifyReport"]

DEFAULT_MEDIA_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class ArtifactInfo:
    """The metadata row of a stored object."""

    digest: str
    size: int
    media_type: str
    created_by: str
    created_at: dt.datetime
    region: str

    @property
    def uri(self) -> str:
        return f"sha256:{self.digest}"


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    damaged: dict[str, str]
    missing: list[str]
    #: objects in the store that no index row names (only when asked for); ``gc`` removes them
    orphans: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No damaged and no missing object (orphans are leftovers, not damage)."""
        return not self.damaged and not self.missing


@dataclass(frozen=True)
class GcReport:
    """What ``gc`` removed (or, with ``dry_run``, would remove)."""

    orphans: list[str]
    temporaries: list[str]
    dry_run: bool


class ArtifactService(Service):
    """``ws.artifacts``: put, get and verify content-addressed artifacts."""

    def __init__(self, context: ServiceContext, objects: ObjectStore) -> None:
        super().__init__(context)
        self._objects = objects

    @property
    def objects(self) -> ObjectStore:
        return self._objects

    # -- writing -------------------------------------------------------------------------------
    def put_bytes(self, data: bytes, *, media_type: str = DEFAULT_MEDIA_TYPE) -> ArtifactInfo:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidInputError(f"put_bytes expects bytes, got {type(data).__name__}")
        return self.put_stream(io.BytesIO(bytes(data)), media_type=media_type)

    def put_file(self, path: str | Path, *, media_type: str | None = None) -> ArtifactInfo:
        source = Path(path)
        if not source.is_file():
            raise NotFoundError(f"file {source} does not exist or is not a regular file")
        guessed = media_type or mimetypes.guess_type(source.name)[0] or DEFAULT_MEDIA_TYPE
        _check_media_type(guessed)
        actor = self.authorize(
            Action.ARTIFACT_PUT,
            "artifact",
            "*",
            details={"media_type": guessed, "name": source.name},
        )
        # No object of this size: the content is new, copy while hashing. Otherwise hash first,
        # so identical content already stored costs just its hash.
        with self.store.read() as conn:
            same_size = conn.execute(
                sa.select(artifacts.c.digest).where(artifacts.c.size == source.stat().st_size)
            ).first()
        written = self._objects.write_file(source, likely_new=same_size is None)
        return self._index(written, guessed, source.name, actor)

    def put_stream(
        self, stream: BinaryIO, *, media_type: str = DEFAULT_MEDIA_TYPE, name: str | None = None
    ) -> ArtifactInfo:
        """Store a stream in chunks; identical content is stored (and indexed) once.

        Authorized before a byte is stored: a refused principal leaves nothing behind."""
        _check_media_type(media_type)
        actor = self.authorize(
            Action.ARTIFACT_PUT, "artifact", "*", details={"media_type": media_type, "name": name}
        )
        written = self._objects.write_stream(stream)
        return self._index(written, media_type, name, actor)

    def _index(
        self, written: WriteResult, media_type: str, name: str | None, actor: Actor
    ) -> ArtifactInfo:
        details = {"size": written.size, "media_type": media_type, "name": name}
        with self.mutation(
            Action.ARTIFACT_PUT,
            "artifact",
            written.digest,
            details=details,
            actor=actor,
            authorized=True,
        ) as m:
            inserted = insert_ignore(
                m.conn,
                artifacts,
                {
                    "digest": written.digest,
                    "size": written.size,
                    "media_type": media_type,
                    "created_by": m.actor.principal.name,
                    "created_at": utcnow(),
                    "region": self.context.region,
                },
            )
            m.details["deduplicated"] = not inserted
            row = m.conn.execute(
                sa.select(artifacts).where(artifacts.c.digest == written.digest)
            ).one()
        return ArtifactInfo(**row._mapping)

    # -- reading -------------------------------------------------------------------------------
    def info(self, digest: str) -> ArtifactInfo:
        d = normalize_digest(digest)
        self.authorize(Action.ARTIFACT_READ, "artifact", d)
        with self.store.read() as conn:
            row = conn.execute(sa.select(artifacts).where(artifacts.c.digest == d)).one_or_none()
        if row is None:
            raise NotFoundError(f"artifact {d} is not registered in this workspace")
        return ArtifactInfo(**row._mapping)

    def exists(self, digest: str) -> bool:
        try:
            self.info(digest)
        except NotFoundError:
            return False
        return True

    def get_bytes(self, digest: str) -> bytes:
        """The object's bytes, verified against its digest and recorded size."""
        meta = self.info(digest)
        return self._objects.read_bytes(meta.digest, expected_size=meta.size)

    def get_file(self, digest: str, dest: str | Path) -> Path:
        """Write the object to ``dest`` (atomically, only once verified)."""
        meta = self.info(digest)
        return self._objects.copy_to(meta.digest, dest, expected_size=meta.size)

    def open(self, digest: str) -> BinaryIO:
        """Stream the object; raises :class:`IntegrityError` at the end if it is damaged."""
        meta = self.info(digest)
        return self._objects.open(meta.digest, expected_size=meta.size)

    @contextmanager
    def local_path(self, digest: str) -> Iterator[Path]:
        """A verified local file with the object's bytes, for libraries that want a path."""
        meta = self.info(digest)
        with self._objects.local_path(meta.digest, expected_size=meta.size) as path:
            yield path

    def list(self, *, limit: int = 100) -> list[ArtifactInfo]:
        if limit <= 0:
            raise InvalidInputError(f"limit must be a positive integer, got {limit}")
        self.authorize(Action.ARTIFACT_READ, "artifact", "*")
        query = sa.select(artifacts).order_by(artifacts.c.created_at.desc()).limit(limit)
        with self.store.read() as conn:
            return [ArtifactInfo(**row._mapping) for row in conn.execute(query)]

    def verify(self, digest: str | None = None, *, orphans: bool = False) -> VerifyReport:
        """Re-hash one object, or every indexed object, and report damage and loss.

        With ``orphans``, also list the objects present in the store that no index row names
        (written, then the process died before indexing them); ``gc`` removes them.
        """
        self.authorize(Action.ARTIFACT_VERIFY, "artifact", digest or "*")
        if digest is not None:
            with machinery():
                metas = [self.info(digest)]
        else:
            with self.store.read() as conn:
                metas = [ArtifactInfo(**r._mapping) for r in conn.execute(sa.select(artifacts))]
        damaged: dict[str, str] = {}
        missing: list[str] = []
        for meta in metas:
            try:
                self._objects.verify(meta.digest, expected_size=meta.size)
            except NotFoundError:
                missing.append(meta.digest)
            except IntegrityError as exc:
                damaged[meta.digest] = str(exc)
        found = self.orphans(min_age_s=0.0) if orphans else []
        return VerifyReport(checked=len(metas), damaged=damaged, missing=missing, orphans=found)

    def orphans(
        self, *, min_age_s: float | None = None, now: float | None = None
    ) -> builtins.list[str]:
        """Stored objects no index row names, untouched for ``min_age_s`` seconds.

        The default age is the store's ``stale_after_s``: an object renamed into place a moment
        ago is about to be indexed by its writer and must not be taken for a leftover.
        """
        self.authorize(Action.ARTIFACT_VERIFY, "artifact", "*")
        age = self._objects.stale_after_s if min_age_s is None else min_age_s
        if age < 0:
            raise InvalidInputError(f"min_age_s {age!r} is invalid: expected seconds >= 0")
        current = self._objects.clock() if now is None else now
        present = set(self._objects.iter_digests())
        if not present:
            return []
        with self.store.read() as conn:
            indexed = {r[0] for r in conn.execute(sa.select(artifacts.c.digest))}
        found: builtins.list[str] = []
        for digest in sorted(present - indexed):
            try:
                if current - self._objects.modified_at(digest) >= age:
                    found.append(digest)
            except NotFoundError:  # removed meanwhile
                continue
        return found

    def gc(
        self, *, dry_run: bool = False, min_age_s: float | None = None, now: float | None = None
    ) -> GcReport:
        """Remove orphaned objects and stale temporaries (audited as ``artifact.gc``).

        An orphan is re-checked against the index right before it is removed, inside the
        transaction that records the removal, so an object indexed meanwhile is kept.
        """
        actor = self.authorize(Action.ARTIFACT_GC, "artifact_store", self._objects.uri)
        age = self._objects.stale_after_s if min_age_s is None else min_age_s
        current = self._objects.clock() if now is None else now
        with machinery():
            candidates = self.orphans(min_age_s=age, now=current)
        if dry_run:
            return GcReport(orphans=candidates, temporaries=[], dry_run=True)
        details = {"candidates": len(candidates)}
        uri = self._objects.uri
        with self.mutation(
            Action.ARTIFACT_GC, "artifact_store", uri, details=details, actor=actor, authorized=True
        ) as m:
            removed: builtins.list[str] = []
            for digest in candidates:
                indexed = m.conn.execute(
                    sa.select(artifacts.c.digest).where(artifacts.c.digest == digest)
                ).first()
                # a writer re-storing this content touches it before indexing it
                if indexed is None and self._still_stale(digest, current, age):
                    self._objects.delete(digest)
                    removed.append(digest)
            temporaries = self._objects.clean_temporaries(now=current)
            m.details.update(removed=removed, temporaries=temporaries)
        return GcReport(orphans=removed, temporaries=temporaries, dry_run=False)

    def _still_stale(self, digest: str, now: float, age: float) -> bool:
        try:
            return now - self._objects.modified_at(digest) >= age
        except NotFoundError:
            return False


def _check_media_type(media_type: str) -> None:
    if not isinstance(media_type, str) or "/" not in media_type or len(media_type) > 200:
        raise InvalidInputError(
            f"media_type {media_type!r} is invalid: expected a MIME type like 'text/csv'"
        )
