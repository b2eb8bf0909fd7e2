"""Model version signatures in the registry: signed at registration, checked before loading.

The signing itself (keys, statement, envelope) is governance's
(:mod:`falaj.governance.signing`); this module decides when: a version is signed in the
transaction that registers it, checked against the workspace's ``signing_mode`` before
:meth:`RegistryService.load_model` deserializes it, and fully re-verified (every file re-hashed)
by :func:`verify_version` (``falaj models verify``).
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING

from falaj.errors import ConflictError, IntegrityError, NotFoundError
from falaj.governance.authorization import Action
from falaj.governance.context import machinery
from falaj.governance.errors import SignatureError
from falaj.governance.signing import SignatureCheck, file_manifest
from falaj.registry import queries as q
from falaj.registry.models import ModelVersion

if TYPE_CHECKING:
    from falaj.registry.service import RegistryService

__all__ = [
    "UnverifiedModelWarning",
    "check_before_load",
    "manifest_for",
    "sign_version",
    "verify_version",
]

_log = logging.getLogger("falaj.signing")


class UnverifiedModelWarning(UserWarning):
    """A model was loaded although its signature does not verify (``signing_mode = "warn"``)."""


def manifest_for(service: RegistryService, digest: str) -> list[dict[str, str]] | None:
    """The archive's file manifest when this workspace signs (None otherwise)."""
    if service.links.signing is None:
        return None
    with machinery():
        return file_manifest(service.links.artifacts.get_bytes(digest))


def check_before_load(service: RegistryService, mv: ModelVersion) -> SignatureCheck | None:
    """Judge the version's signature per ``signing_mode`` before it is deserialized."""
    signing = service.links.signing
    if signing is None or signing.mode == "off":
        return None
    with service.store.read() as conn:
        check = signing.check(
            conn, name=mv.name, version=mv.version, archive_digest=mv.artifact_digest
        )
    if check.ok:
        return check
    ident = f"{mv.name}/{mv.version}"
    details = {**check.as_dict(), "mode": signing.mode, "loaded": signing.mode == "warn"}
    service.audit(Action.MODEL_VERIFY, "model_version", ident, details=details, authorized=True)
    if signing.mode == "enforce":
        raise SignatureError(
            f"model {ident} refused (signing_mode = enforce): {check.status}: {check.detail}"
        )
    message = (
        f"LOADING UNVERIFIED MODEL {ident}: {check.status}: {check.detail} "
        "(signing_mode = warn; set it to enforce to refuse)"
    )
    _log.warning(message)
    warnings.warn(message, UnverifiedModelWarning, stacklevel=3)
    return check


def verify_version(
    service: RegistryService, name: str, version_or_alias: int | str
) -> SignatureCheck:
    """The full check: signature, trusted key, this version, and every file re-hashed."""
    service.authorize(Action.MODEL_VERIFY, "model", name)
    signing = service.links.signing
    with machinery():
        mv = service.get_version(name, version_or_alias)
        if signing is None:
            check = SignatureCheck("unsigned", "this workspace has no signing key configured")
        else:
            try:
                resources = file_manifest(service.links.artifacts.get_bytes(mv.artifact_digest))
            except (IntegrityError, NotFoundError) as exc:
                check = SignatureCheck(
                    "modified", f"the model archive cannot be read intact: {exc}"
                )
            else:
                with service.store.read() as conn:
                    check = signing.check(
                        conn,
                        name=mv.name,
                        version=mv.version,
                        archive_digest=mv.artifact_digest,
                        resources=resources,
                    )
    service.audit(
        Action.MODEL_VERIFY,
        "model_version",
        f"{mv.name}/{mv.version}",
        details=check.as_dict(),
        authorized=True,
    )
    return check


def sign_version(service: RegistryService, name: str, version: int) -> str:
    """Sign a version registered before signing was on; returns the key id.

    A version that already has a signature is not re-signed (that would launder a modified
    model): a bad signature is a finding to investigate, not to overwrite.
    """
    signing = service.links.signing
    actor = service.authorize(Action.MODEL_SIGN, "model", name)
    if signing is None:
        raise ConflictError("this workspace has no signing key configured")
    with machinery():
        mv = service.get_version(name, version)
    with service.store.read() as conn:
        if signing.envelope(conn, mv.name, mv.version) is not None:
            raise ConflictError(
                f"model {mv.name} version {mv.version} is already signed; `falaj models verify` "
                "judges its signature"
            )
    resources = manifest_for(service, mv.artifact_digest)
    assert resources is not None
    with service.mutation(
        Action.MODEL_SIGN,
        "model_version",
        f"{mv.name}/{mv.version}",
        actor=actor,
        authorized=True,
    ) as m:
        q.get_model_row(m.conn, mv.name, lock=True)
        key_id = signing.sign(
            m.conn,
            name=mv.name,
            version=mv.version,
            archive_digest=mv.artifact_digest,
            resources=resources,
            signed_by=actor.principal.name,
        )
        m.details.update(key_id=key_id, digest=mv.artifact_digest)
    return key_id
