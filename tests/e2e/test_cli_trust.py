"""The trust commands as a user types them: exit codes 0 (intact/valid) and 8 (not)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from falaj.workspace import Workspace
from tests.e2e.conftest import run_falaj
from tests.registry_support import log_model

pytestmark = pytest.mark.slow


def _tamper(home: Path, *statements: str) -> None:
    engine = sa.create_engine(f"sqlite:///{home / 'falaj.db'}")
    with engine.begin() as conn:
        for name in ("audit_events_append_only_UPDATE", "audit_events_append_only_DELETE"):
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
        for sql in statements:
            conn.execute(sa.text(sql))
    engine.dispose()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "ws"
    r = run_falaj(
        "init", str(home), "--region", "ae-dubai-1", "--encrypt", "--signing-mode", "enforce"
    )
    assert r.code == 0, r.err
    assert "audit chain on, signing enforce, encryption on" in r.out
    with Workspace.open(home) as ws:
        ws.registry.create_version("credit", log_model(ws))
    return home


def test_audit_verify_checkpoint_export_and_tampering(home: Path, tmp_path: Path) -> None:
    ok = run_falaj("--home", str(home), "audit", "verify")
    assert ok.code == 0 and "audit chain intact" in ok.out, ok.err
    anchor = tmp_path / "head.json"
    cp = run_falaj("--home", str(home), "audit", "checkpoint", "--out", str(anchor))
    assert cp.code == 0, cp.err
    seq = json.loads(anchor.read_text())["seq"]
    siem = tmp_path / "audit.jsonl"
    ex = run_falaj("--home", str(home), "audit", "export", "--out", str(siem))
    assert ex.code == 0, ex.err
    lines = [json.loads(line) for line in siem.read_text().splitlines()]
    assert [r["seq"] for r in lines] == list(range(1, len(lines) + 1))
    assert all(len(r["mac"]) == 64 for r in lines)

    # cut the tail, and the stored checkpoints with it
    _tamper(home, "DELETE FROM audit_events WHERE seq > 3", "DELETE FROM audit_checkpoints")
    assert run_falaj("--home", str(home), "audit", "verify").code == 0  # undetectable alone...
    cut = run_falaj("--home", str(home), "audit", "verify", "--checkpoint", str(anchor))
    assert cut.code == 8  # ...but not against the exported checkpoint
    assert f"seq {seq}" in cut.err and "tail truncated" in cut.err

    _tamper(home, "UPDATE audit_events SET principal = 'mallory' WHERE seq = 2")
    bad = run_falaj("--home", str(home), "audit", "verify", "--json")
    assert bad.code == 8
    report = json.loads(bad.out)
    assert report["ok"] is False and report["problems"][0]["seq"] == 2


def test_models_verify_exit_codes(home: Path) -> None:
    ok = run_falaj("--home", str(home), "models", "verify", "credit", "1")
    assert ok.code == 0 and "signature valid" in ok.out, ok.err
    engine = sa.create_engine(f"sqlite:///{home / 'falaj.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM model_signatures"))
    engine.dispose()
    bad = run_falaj("--home", str(home), "models", "verify", "credit", "latest")
    assert bad.code == 8 and "signature unsigned" in bad.err
    signed = run_falaj("--home", str(home), "models", "sign", "credit", "1")
    assert signed.code == 0, signed.err
    assert run_falaj("--home", str(home), "models", "verify", "credit", "1").code == 0


def test_keys_rotate_and_shred(home: Path) -> None:
    before = json.loads(run_falaj("--home", str(home), "keys", "list", "--json").out)
    rot = run_falaj("--home", str(home), "keys", "rotate", "--json")
    assert rot.code == 0, rot.err
    rotated = json.loads(rot.out)
    assert rotated["previous_key_id"] == before[0]["key_id"] and rotated["rewrapped"] >= 1
    refused = run_falaj("--home", str(home), "keys", "shred", rotated["previous_key_id"])
    assert refused.code == 2 and "--yes" in refused.err
    gone = run_falaj("--home", str(home), "keys", "shred", rotated["previous_key_id"], "--yes")
    assert gone.code == 0 and "0 object(s)" in gone.out  # everything was re-wrapped first
    bad = run_falaj("--home", str(home), "keys", "shred", "nonsense", "--yes")
    assert bad.code == 2 and "expected a master key id" in bad.err
    assert run_falaj("--home", str(home), "models", "verify", "credit", "1").code == 0


def test_compliance_report_json_and_self_contained_html(home: Path, tmp_path: Path) -> None:
    page = tmp_path / "compliance.html"
    r = run_falaj("--home", str(home), "compliance", "report", "--json", "--html", str(page))
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["ok"] is True and report["audit"]["ok"] is True
    (model,) = report["models"]
    assert model["id"] == "credit/1" and model["signature"] == "valid" and model["encrypted"]
    assert report["encryption"]["enabled"] is True
    assert [c["name"] for c in report["transport"]] == ["metadata database", "artifact store"]
    text = page.read_text()
    assert "<svg" in text and "credit/1" in text
    assert "<script" not in text and "http://" not in text.replace("http://www.w3.org", "")


def test_data_export_outside_its_regions_exits_8(home: Path, tmp_path: Path) -> None:
    import pandas as pd

    (home / "residency.toml").write_text('[regions]\npii = ["ae-*"]\n')
    with Workspace.open(home) as ws:
        frame = pd.DataFrame({"email": ["a@x", "b@y"], "amount": [1.0, 2.0]})
        ws.datasets.register("customers", frame, classifications={"email": ["pii"]})
    out = tmp_path / "customers.parquet"
    refused = run_falaj(
        "--home", str(home), "data", "export", "customers", str(out), "--region", "us-east-1"
    )
    assert refused.code == 8 and "may live only in ['ae-*']" in refused.err
    assert "Traceback" not in refused.err and not out.exists()
    ok = run_falaj(
        "--home", str(home), "data", "export", "customers", str(out), "--region", "ae-abudhabi-1"
    )
    assert ok.code == 0, ok.err
    assert pd.read_parquet(out)["email"].tolist() == ["a@x", "b@y"]
