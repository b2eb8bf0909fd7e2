"""The audit chain: keys, links, genesis for existing ledgers, export, audited reads."""

from __future__ import annotations

import io
import itertools
import json
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from falaj.errors import ConfigError
from falaj.governance import Principal
from falaj.governance.ledger import (
    AUDIT_KEY_ENV,
    ZERO_MAC,
    AuditKey,
    canonical_record,
    load_audit_key,
)
from falaj.governance.tables import audit_events
from falaj.store.metadata_store import MetadataStore
from falaj.workspace import Workspace


def _links(ws: Workspace) -> list[tuple[int, str | None, str | None]]:
    with ws.store.read() as conn:
        rows = conn.execute(
            sa.select(audit_events.c.seq, audit_events.c.prev_mac, audit_events.c.mac).order_by(
                audit_events.c.seq
            )
        )
        return [(int(r.seq), r.prev_mac, r.mac) for r in rows]


def test_new_workspace_chains_from_its_first_event_with_a_private_key_file(ws: Workspace) -> None:
    key_file = ws.home / "keys" / "audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes()) == 32
    ws.artifacts.put_bytes(b"x")
    links = _links(ws)
    assert links[0][0] == 1 and links[0][1] == ZERO_MAC
    for (seq, _, mac), (next_seq, prev, _) in itertools.pairwise(links):
        assert next_seq == seq + 1 and prev == mac


def test_mac_covers_every_auditor_field() -> None:
    key = AuditKey(b"k" * 32, "test")
    record = {
        "seq": 3,
        "event_id": "e",
        "occurred_at": "2026-01-01",
        "principal": "alice",
        "principal_kind": "user",
        "action": "model.approve",
        "resource_type": "model_version",
        "resource_id": "credit/1",
        "outcome": "success",
        "request_id": "r",
        "region": "ae-dubai-1",
        "source": "10.0.0.1",
        "details": {"b": 1, "a": [1, 2]},
    }
    base = key.mac(ZERO_MAC, record)
    for field, other in [
        ("seq", 4),
        ("principal", "bob"),
        ("outcome", "denied"),
        ("source", "10.0.0.2"),
        ("details", {"b": 2, "a": [1, 2]}),
    ]:
        assert key.mac(ZERO_MAC, {**record, field: other}) != base, field
    assert key.mac("1" * 64, record) != base  # the link is covered too
    assert canonical_record(record) == canonical_record(dict(reversed(list(record.items()))))


def test_env_key_wins_and_short_env_key_is_refused(tmp_path: Path) -> None:
    strong = "s" * 40
    assert load_audit_key(tmp_path, {AUDIT_KEY_ENV: strong}).secret == strong.encode()
    assert not (tmp_path / "keys").exists()
    with pytest.raises(ConfigError, match="at least 32"):
        load_audit_key(tmp_path, {AUDIT_KEY_ENV: "short"})


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_audit_key(tmp_path, {})
    path = tmp_path / "keys" / "audit.key"
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        load_audit_key(tmp_path, {})


def test_opening_the_ledger_with_another_key_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    Workspace.init(home).close()
    (home / "keys" / "audit.key").unlink()
    with pytest.raises(ConfigError, match="not the key that chained this ledger"):
        Workspace.open(home)


def test_rolled_back_change_leaves_no_link(any_ws: Workspace) -> None:
    before = _links(any_ws)
    with pytest.raises(RuntimeError), any_ws.unit_of_work():
        any_ws.artifacts.put_bytes(b"rolled back")
        raise RuntimeError("abort")
    after = _links(any_ws)
    assert after == before
    any_ws.artifacts.put_bytes(b"kept")
    report = any_ws.audit.verify()
    assert report.ok and report.head_seq == len(before) + 1  # no gap where the rollback was


def test_existing_ledger_is_chained_from_a_recorded_genesis(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = MetadataStore.unchecked(url)
    store.upgrade("f0002")
    with store.transaction() as conn:  # events written by an older Falaj: no chain columns
        for i in range(3):
            conn.execute(
                sa.text(
                    "INSERT INTO audit_events (event_id, occurred_at, principal, principal_kind,"
                    " action, resource_type, resource_id, outcome, request_id, region, details)"
                    " VALUES (:e, '2026-01-01 00:00:00', 'old', 'user', 'artifact.put',"
                    " 'artifact', 'x', 'success', 'r', 'local', '{}')"
                ),
                {"e": f"old{i}"},
            )
    store.close()
    with Workspace.open(tmp_path, db_url=url) as ws:
        ws.artifacts.put_bytes(b"new")
        report = ws.audit.verify()
        assert report.ok and report.genesis_seq == 3
        assert _links(ws)[3][1] == ZERO_MAC  # the first chained record links to 64 zeros


def test_export_writes_one_json_line_per_record_and_is_audited(ws: Workspace) -> None:
    ws.artifacts.put_bytes(b"a")
    out = io.StringIO()
    count = ws.audit.export(out, since_seq=1)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(lines) == 1 and lines[0]["seq"] == 2
    assert {"mac", "prev_mac", "source", "principal", "outcome"} <= set(lines[0])
    last = ws.audit.list(limit=2)
    assert last[0].action == "audit.export" and last[0].details["records"] == 1


def test_auditor_reads_are_audited(ws: Workspace) -> None:
    auditor = ws.as_principal(Principal("audra"))
    auditor.audit.list(action="artifact.*")
    auditor.audit.verify()
    events = ws.audit.list(limit=3, action="audit.*")
    assert [(e.action, e.principal) for e in events][:2] == [
        ("audit.verify", "audra"),
        ("audit.read", "audra"),
    ]
    assert events[1].details["action"] == "artifact.*"
