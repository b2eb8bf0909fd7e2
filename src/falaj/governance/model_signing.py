"""Storing and judging model signatures (``model_signatures``, ``signing_keys``).

The registry calls :meth:`ModelSigning.sign` inside the transaction that registers a version (so
a version and its signature commit together) and :meth:`ModelSigning.check` before a version is
deserialized. ``mode`` is the workspace's ``signing_mode``: ``enforce`` refuses what does not
verify, ``warn`` loads it with a loud warning and an audit event, ``off`` skips the check.
Signing itself always happens when a signer is configured (every workspace has one).
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy import Connection

from falaj.governance.signing import (
    SignatureCheck,
    Signer,
    TrustedKeys,
    build_statement,
    check_envelope,
    sign_statement,
)
from falaj.governance.tables import model_signatures, signing_keys
from falaj.store.dml import insert_ignore
from falaj.store.schema import utcnow

__all__ = ["ModelSigning"]

_MODES = ("enforce", "warn", "off")


class ModelSigning:
    """The workspace's signer, the keys it trusts, and its ``signing_mode``."""

    def __init__(self, signer: Signer, trusted: TrustedKeys, mode: str) -> None:
        if mode not in _MODES:
            raise ValueError(f"signing mode {mode!r}: expected one of {_MODES}")
        self._signer = signer
        self._trusted = trusted
        self._mode = mode

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def signer(self) -> Signer:
        return self._signer

    @property
    def trusted(self) -> TrustedKeys:
        return self._trusted

    def sign(
        self,
        conn: Connection,
        *,
        name: str,
        version: int,
        archive_digest: str,
        resources: list[dict[str, str]],
        signed_by: str,
    ) -> str:
        """Sign the version's manifest and store the envelope; returns the signing key id."""
        statement = build_statement(name, version, archive_digest, resources)
        envelope = sign_statement(statement, self._signer)
        now = utcnow()
        insert_ignore(
            conn,
            signing_keys,
            {
                "key_id": self._signer.key_id,
                "algorithm": "ed25519",
                "public_key": self._signer.public_key_pem(),
                "trusted": self._signer.key_id in self._trusted,
                "source": type(self._signer).__name__,
                "created_by": signed_by,
                "created_at": now,
            },
        )
        conn.execute(
            sa.insert(model_signatures).values(
                name=name,
                version=version,
                artifact_digest=archive_digest,
                key_id=self._signer.key_id,
                envelope=json.dumps(envelope, sort_keys=True),
                signed_by=signed_by,
                signed_at=now,
            )
        )
        return self._signer.key_id

    def envelope(self, conn: Connection, name: str, version: int) -> str | None:
        return conn.execute(
            sa.select(model_signatures.c.envelope).where(
                model_signatures.c.name == name, model_signatures.c.version == version
            )
        ).scalar_one_or_none()

    def check(
        self,
        conn: Connection,
        *,
        name: str,
        version: int,
        archive_digest: str,
        resources: list[dict[str, str]] | None = None,
    ) -> SignatureCheck:
        return check_envelope(
            self.envelope(conn, name, version),
            name=name,
            version=version,
            archive_digest=archive_digest,
            trusted=self._trusted,
            resources=resources,
        )
