"""Signed models: an in-toto Statement over a model version's files, in a DSSE envelope, Ed25519.

On registration each file of the version's archive is hashed into a manifest, and a Statement is
signed (following the OpenSSF model-signing v1.0 layout where practical: ``predicateType``
``https://model_signing/signature/v1.0``, a ``resources`` list of ``{name, algorithm, digest}``
and a subject whose digest is the sha256 over the sorted resources; the envelope is a plain DSSE
envelope signed with Ed25519 rather than a Sigstore bundle, since Falaj runs offline)::

    {"payloadType": "application/vnd.in-toto+json",
     "payload": base64(statement),
     "signatures": [{"keyid": "ed25519:<16 hex>", "sig": base64(Ed25519(PAE(type, payload)))}]}

Keys: :class:`Signer` is the plugin interface for a KMS/HSM; :class:`Ed25519FileSigner` keeps
the private key in ``<home>/keys/signing.key`` (PKCS#8 PEM, mode 0600, created with the
workspace). Trusted keys are the workspace's own signing key and the public keys (PEM) in
``<home>/keys/trusted/``; they live in files, not in the database, so someone who can write the
database cannot make their own key trusted.

A version verifies when its envelope's signature is valid under a trusted key, the statement
names this version and its archive digest, and (for a full check) every file in the archive
hashes to what the manifest says.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from falaj.errors import InvalidInputError
from falaj.governance.keyfile import KEYS_DIR, read_key_file, read_or_create_key_file

__all__ = [
    "PAYLOAD_TYPE",
    "PREDICATE_TYPE",
    "Ed25519FileSigner",
    "SignatureCheck",
    "Signer",
    "TrustedKeys",
    "build_statement",
    "check_envelope",
    "file_manifest",
    "key_id_of",
    "sign_statement",
]

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
SIGNING_KEY_FILE = "signing.key"
TRUSTED_DIR = "trusted"

Status = Literal["valid", "unsigned", "untrusted", "modified", "invalid"]


@runtime_checkable
class Signer(Protocol):
    """Signs bytes with a private key it need not reveal (a key file, a KMS, an HSM)."""

    @property
    def key_id(self) -> str: ...

    def public_key_pem(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


def key_id_of(public_pem: str) -> str:
    """``ed25519:`` and the first 16 hex digits of the sha256 of the raw public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(public_pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInputError("public key is not an Ed25519 key")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


class Ed25519FileSigner:
    """An Ed25519 private key in a 0600 PEM file (created on first use)."""

    def __init__(self, path: Path) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        if not path.exists():
            fresh = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            read_or_create_key_file(path, content=fresh)
        loaded = serialization.load_pem_private_key(read_key_file(path), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise InvalidInputError(f"signing key {path} is not an Ed25519 private key")
        self._key = loaded
        self._public = (
            loaded.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )
        self._key_id = key_id_of(self._public)

    @classmethod
    def for_home(cls, home: Path) -> Ed25519FileSigner:
        return cls(home / KEYS_DIR / SIGNING_KEY_FILE)

    @property
    def key_id(self) -> str:
        return self._key_id

    def public_key_pem(self) -> str:
        return self._public

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


class TrustedKeys:
    """Public keys whose signatures are accepted: by key id."""

    def __init__(self, keys: dict[str, str]) -> None:
        self._keys = dict(keys)

    @classmethod
    def for_home(cls, home: Path, own: Signer | None = None) -> TrustedKeys:
        keys: dict[str, str] = {}
        if own is not None:
            keys[own.key_id] = own.public_key_pem()
        folder = home / KEYS_DIR / TRUSTED_DIR
        if folder.is_dir():
            for path in sorted(folder.glob("*.pem")):
                pem = path.read_text(encoding="ascii")
                keys[key_id_of(pem)] = pem
        return cls(keys)

    def get(self, key_id: str) -> str | None:
        return self._keys.get(key_id)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)


def file_manifest(archive: bytes) -> list[dict[str, str]]:
    """Each file of a model archive (a zip) with the sha256 of its bytes, sorted by name."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            out = []
            for info in zf.infolist():
                if info.is_dir():
                    continue
                hasher = hashlib.sha256()
                with zf.open(info) as fh:
                    while block := fh.read(1 << 20):
                        hasher.update(block)
                out.append(
                    {"name": info.filename, "algorithm": "sha256", "digest": hasher.hexdigest()}
                )
    except zipfile.BadZipFile as exc:
        raise InvalidInputError(f"model archive is not a zip archive: {exc}") from None
    return sorted(out, key=lambda r: r["name"])


def _resources_digest(resources: Iterable[dict[str, str]]) -> str:
    hasher = hashlib.sha256()
    for r in sorted(resources, key=lambda r: r["name"]):
        hasher.update(f"{r['name']}\0{r['digest']}\n".encode())
    return hasher.hexdigest()


def build_statement(
    name: str, version: int, archive_digest: str, resources: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": f"{name}/{version}", "digest": {"sha256": _resources_digest(resources)}}
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": False},
            "resources": resources,
            "falaj": {"model": name, "version": version, "archive_sha256": archive_digest},
        },
    }


def _pae(payload_type: str, body: bytes) -> bytes:
    """DSSE pre-authentication encoding."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


def sign_statement(statement: dict[str, Any], signer: Signer) -> dict[str, Any]:
    body = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode("utf-8")
    sig = signer.sign(_pae(PAYLOAD_TYPE, body))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(body).decode("ascii"),
        "signatures": [{"keyid": signer.key_id, "sig": base64.b64encode(sig).decode("ascii")}],
    }


@dataclass(frozen=True)
class SignatureCheck:
    """The verdict on one version's signature, and the evidence it rests on."""

    status: Status
    detail: str
    key_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "valid"

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "detail": self.detail, "key_id": self.key_id, "ok": self.ok}


def check_envelope(
    envelope_json: str | None,
    *,
    name: str,
    version: int,
    archive_digest: str,
    trusted: TrustedKeys,
    resources: list[dict[str, str]] | None = None,
) -> SignatureCheck:
    """Judge a stored envelope. ``resources`` (the archive's manifest, re-hashed now) makes it
    the full check; without it the archive digest stands for the files (every read of the
    archive checks its bytes against that digest)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if envelope_json is None:
        return SignatureCheck("unsigned", f"model {name} version {version} has no signature")
    try:
        envelope = json.loads(envelope_json)
        body = base64.b64decode(envelope["payload"], validate=True)
        (entry,) = envelope["signatures"]
        key_id = str(entry["keyid"])
        sig = base64.b64decode(entry["sig"], validate=True)
        payload_type = str(envelope["payloadType"])
    except (ValueError, KeyError, TypeError) as exc:
        return SignatureCheck("invalid", f"the signature envelope is malformed: {exc}")
    pem = trusted.get(key_id)
    if pem is None:
        return SignatureCheck(
            "untrusted", f"signed by {key_id}, which is not a trusted key", key_id
        )
    public = serialization.load_pem_public_key(pem.encode("ascii"))
    assert isinstance(public, Ed25519PublicKey)
    try:
        public.verify(sig, _pae(payload_type, body))
    except InvalidSignature:
        return SignatureCheck(
            "invalid", f"the signature does not verify under {key_id}: envelope altered", key_id
        )
    statement = json.loads(body)
    falaj = statement.get("predicate", {}).get("falaj", {})
    if (falaj.get("model"), falaj.get("version")) != (name, version):
        return SignatureCheck(
            "modified",
            f"the signature is for {falaj.get('model')}/{falaj.get('version')}, not "
            f"{name}/{version}",
            key_id,
        )
    if falaj.get("archive_sha256") != archive_digest:
        return SignatureCheck(
            "modified",
            f"the version points at archive sha256:{archive_digest[:12]}, but "
            f"sha256:{str(falaj.get('archive_sha256'))[:12]} was signed",
            key_id,
        )
    signed = statement["predicate"]["resources"]
    if statement["subject"][0]["digest"]["sha256"] != _resources_digest(signed):
        return SignatureCheck("modified", "the manifest does not match its subject digest", key_id)
    if resources is not None:
        now = {r["name"]: r["digest"] for r in resources}
        then = {r["name"]: r["digest"] for r in signed}
        changed = sorted(n for n in now.keys() | then.keys() if now.get(n) != then.get(n))
        if changed:
            return SignatureCheck(
                "modified", f"file(s) changed since signing: {', '.join(changed[:5])}", key_id
            )
    return SignatureCheck("valid", f"signed by trusted key {key_id}", key_id)
