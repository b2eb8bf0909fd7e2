"""Signed model versions: signed on registration; unsigned, untrusted-key and modified versions
refused under ``enforce``, loaded loudly and audited under ``warn``."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from falaj.errors import ConflictError
from falaj.governance.errors import SignatureError
from falaj.governance.signing import PREDICATE_TYPE, Ed25519FileSigner, sign_statement
from falaj.registry.signatures import UnverifiedModelWarning
from falaj.workspace import Workspace
from tests.registry_support import log_model


def _ws(tmp_path: Path, mode: str) -> Workspace:
    return Workspace.init(tmp_path / f"ws-{mode}", region="ae-dubai-1", signing_mode=mode)


@pytest.fixture
def enforcing(tmp_path: Path) -> Iterator[Workspace]:
    with _ws(tmp_path, "enforce") as ws:
        ws.registry.create_version("credit", log_model(ws))
        yield ws


def _envelope(ws: Workspace, version: int = 1) -> dict[str, object]:
    with ws.store.read() as conn:
        text = conn.execute(
            sa.text("SELECT envelope FROM model_signatures WHERE name = 'credit' AND version = :v"),
            {"v": version},
        ).scalar_one()
    return dict(json.loads(text))


def _sql(ws: Workspace, statement: str, **params: object) -> None:
    with ws.store.transaction() as conn:
        conn.execute(sa.text(statement), params)


def test_registration_signs_an_in_toto_statement_over_every_file(enforcing: Workspace) -> None:
    key = enforcing.home / "keys" / "signing.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    envelope = _envelope(enforcing)
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    statement = json.loads(base64.b64decode(str(envelope["payload"])))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == PREDICATE_TYPE
    names = [r["name"] for r in statement["predicate"]["resources"]]
    assert "falaj-model.json" in names and len(names) >= 2
    mv = enforcing.registry.get_version("credit", 1)
    assert statement["predicate"]["falaj"]["archive_sha256"] == mv.artifact_digest
    check = enforcing.registry.verify_signature("credit", 1)
    assert check.ok and check.key_id == enforcing.model_signing.signer.key_id
    assert enforcing.registry.load_model("credit", 1).predict is not None
    (event,) = enforcing.audit.list(action="model.version.create")
    assert event.details["signature_key"] == check.key_id


def test_unsigned_version_is_refused_under_enforce(enforcing: Workspace) -> None:
    _sql(enforcing, "DELETE FROM model_signatures")
    with pytest.raises(SignatureError, match="unsigned") as info:
        enforcing.registry.load_model("credit", 1)
    assert info.value.exit_code == 8
    (event,) = enforcing.audit.list(action="model.verify", limit=1)
    assert event.details["status"] == "unsigned" and event.details["loaded"] is False


def test_version_signed_by_an_untrusted_key_is_refused_until_the_key_is_trusted(
    enforcing: Workspace, tmp_path: Path
) -> None:
    mallory = Ed25519FileSigner(tmp_path / "mallory.key")
    statement = json.loads(base64.b64decode(str(_envelope(enforcing)["payload"])))
    forged = json.dumps(sign_statement(statement, mallory), sort_keys=True)
    _sql(
        enforcing,
        "UPDATE model_signatures SET envelope = :e, key_id = :k",
        e=forged,
        k=mallory.key_id,
    )
    with pytest.raises(SignatureError, match="untrusted"):
        enforcing.registry.load_model("credit", 1)
    assert enforcing.registry.verify_signature("credit", 1).status == "untrusted"
    trusted = enforcing.home / "keys" / "trusted"
    trusted.mkdir()
    (trusted / "mallory.pem").write_text(mallory.public_key_pem())
    with Workspace.open(enforcing.home) as again:
        assert again.registry.verify_signature("credit", 1).ok


def test_version_pointing_at_other_bytes_is_refused_as_modified(enforcing: Workspace) -> None:
    other = log_model(enforcing, metrics={"roc_auc": 0.9})
    enforcing.registry.create_version("credit", other)
    _sql(
        enforcing,
        "UPDATE model_versions SET artifact_digest = :d WHERE name = 'credit' AND version = 1",
        d=other.artifact_digest,
    )
    with pytest.raises(SignatureError, match="modified"):
        enforcing.registry.load_model("credit", 1)


def test_altered_envelope_is_invalid(enforcing: Workspace) -> None:
    envelope = _envelope(enforcing)
    statement = json.loads(base64.b64decode(str(envelope["payload"])))
    statement["predicate"]["resources"][0]["digest"] = "0" * 64
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    _sql(enforcing, "UPDATE model_signatures SET envelope = :e", e=json.dumps(envelope))
    assert enforcing.registry.verify_signature("credit", 1).status == "invalid"


def test_modified_archive_fails_full_verification(enforcing: Workspace) -> None:
    mv = enforcing.registry.get_version("credit", 1)
    path = Path(enforcing.artifacts.objects.path_of(mv.artifact_digest))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    check = enforcing.registry.verify_signature("credit", 1)
    assert check.status == "modified" and "damaged" in check.detail


def test_warn_mode_loads_loudly_and_audits(tmp_path: Path) -> None:
    with _ws(tmp_path, "warn") as ws:
        ws.registry.create_version("credit", log_model(ws))
        _sql(ws, "DELETE FROM model_signatures")
        with pytest.warns(UnverifiedModelWarning, match="LOADING UNVERIFIED MODEL credit/1"):
            model = ws.registry.load_model("credit", 1)
        assert model.predict is not None
        (event,) = ws.audit.list(action="model.verify", limit=1)
        assert event.details["loaded"] is True and event.details["mode"] == "warn"


def test_off_mode_does_not_check(tmp_path: Path) -> None:
    with _ws(tmp_path, "off") as ws:
        ws.registry.create_version("credit", log_model(ws))
        _sql(ws, "DELETE FROM model_signatures")
        ws.registry.load_model("credit", 1)
        assert ws.audit.list(action="model.verify") == []


def test_legacy_version_is_signed_once(enforcing: Workspace) -> None:
    _sql(enforcing, "DELETE FROM model_signatures")
    key_id = enforcing.registry.sign_version("credit", 1)
    assert key_id == enforcing.model_signing.signer.key_id
    assert enforcing.registry.verify_signature("credit", 1).ok
    with pytest.raises(ConflictError, match="already signed"):
        enforcing.registry.sign_version("credit", 1)
