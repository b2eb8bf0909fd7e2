"""Tamper with the audit ledger in every way an attacker with database access can: each is
detected and the first bad record is named (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from falaj.governance import Principal
from falaj.governance.errors import TamperedError
from falaj.governance.ledger import Checkpoint
from falaj.workspace import Workspace
from tests.adversarial.ledger_tamper import head, row, tamper

_COLS = (
    "seq, event_id, occurred_at, principal, principal_kind, action, resource_type, resource_id, "
    "outcome, request_id, region, details, source, prev_mac, mac"
)


@pytest.fixture
def ledger(db_url: str, tmp_path: Path) -> Iterator[Workspace]:
    """A workspace whose ledger holds a dozen chained events."""
    with Workspace.init(
        tmp_path / "ws", principal=Principal("alice"), db_url=db_url, region="ae-dubai-1"
    ) as ws:
        for i in range(10):
            ws.artifacts.put_bytes(f"evidence {i}".encode())
        assert ws.audit.verify().ok
        yield ws


def _first_bad(ws: Workspace) -> tuple[int, str]:
    report = ws.audit.verify()
    assert not report.ok
    first = report.first_bad
    assert first is not None
    return first.seq, first.problem


def test_untouched_ledger_verifies(ledger: Workspace) -> None:
    report = ledger.audit.verify()
    assert report.ok and report.genesis_seq == 0
    assert report.checked == head(ledger) - 1  # every record but the verify just recorded


def test_edited_record_is_named(ledger: Workspace) -> None:
    tamper(ledger, ("UPDATE audit_events SET principal = 'mallory' WHERE seq = 5", {}))
    seq, problem = _first_bad(ledger)
    assert seq == 5 and "edited" in problem


def test_edited_details_are_detected(ledger: Workspace) -> None:
    stored = row(ledger, 7)["details"]
    details = dict(stored) if isinstance(stored, dict) else json.loads(stored)
    details["size"] = 1
    tamper(
        ledger,
        ("UPDATE audit_events SET details = :d WHERE seq = 7", {"d": json.dumps(details)}),
    )
    assert _first_bad(ledger)[0] == 7


def test_deleted_record_is_named_by_the_one_after_it(ledger: Workspace) -> None:
    tamper(ledger, ("DELETE FROM audit_events WHERE seq = 4", {}))
    seq, problem = _first_bad(ledger)
    assert seq == 5 and "seq 4" in problem and "deleted" in problem


def test_record_inserted_at_the_end_is_named(ledger: Workspace) -> None:
    last = head(ledger)
    forged = row(ledger, last)
    tamper(
        ledger,
        (
            f"INSERT INTO audit_events ({_COLS}) SELECT :seq, 'f0f0', occurred_at, 'mallory', "
            "principal_kind, 'model.approve', resource_type, resource_id, outcome, request_id, "
            "region, details, source, :prev, :mac FROM audit_events WHERE seq = :last",
            {"seq": last + 1, "prev": forged["mac"], "mac": "ab" * 32, "last": last},
        ),
    )
    seq, _ = _first_bad(ledger)
    assert seq == last + 1


def test_record_inserted_in_the_middle_is_named(ledger: Workspace) -> None:
    last = head(ledger)
    # make room at seq 6 (shift the tail up, highest first), then forge a record there
    shifts = [
        ("UPDATE audit_events SET seq = :to WHERE seq = :at", {"to": s + 1, "at": s})
        for s in range(last, 5, -1)
    ]
    forge = (
        f"INSERT INTO audit_events ({_COLS}) SELECT 6, 'f1f1', occurred_at, 'mallory', "
        "principal_kind, action, resource_type, resource_id, outcome, request_id, region, "
        "details, source, mac, :mac FROM audit_events WHERE seq = 5",
        {"mac": "cd" * 32},
    )
    tamper(ledger, *shifts, forge)
    assert _first_bad(ledger)[0] == 6


def test_record_inserted_before_the_chain_is_named(ledger: Workspace) -> None:
    forged = row(ledger, 1)
    tamper(
        ledger,
        (
            f"INSERT INTO audit_events ({_COLS}) SELECT 0, 'f3f3', occurred_at, 'mallory', "
            "principal_kind, 'model.approve', resource_type, resource_id, outcome, request_id, "
            "region, details, source, prev_mac, mac FROM audit_events WHERE seq = 1",
            {},
        ),
    )
    seq, problem = _first_bad(ledger)
    assert seq == 0 and "before the chain's genesis" in problem
    assert forged["mac"] is not None


def test_unchained_record_is_named(ledger: Workspace) -> None:
    last = head(ledger)
    tamper(
        ledger,
        (
            f"INSERT INTO audit_events ({_COLS}) SELECT :seq, 'f2f2', occurred_at, principal, "
            "principal_kind, action, resource_type, resource_id, outcome, request_id, region, "
            "details, source, NULL, NULL FROM audit_events WHERE seq = :last",
            {"seq": last + 1, "last": last},
        ),
    )
    seq, problem = _first_bad(ledger)
    assert seq == last + 1 and "no MAC" in problem


def test_reordered_records_are_named(ledger: Workspace) -> None:
    # swap events 3 and 4 (their MACs and links travel with them)
    tamper(
        ledger,
        ("UPDATE audit_events SET seq = -1 WHERE seq = 3", {}),
        ("UPDATE audit_events SET seq = 3 WHERE seq = 4", {}),
        ("UPDATE audit_events SET seq = 4 WHERE seq = -1", {}),
    )
    seq, _ = _first_bad(ledger)
    assert seq == 3


def test_truncated_tail_is_caught_by_an_exported_checkpoint(ledger: Workspace) -> None:
    exported = ledger.audit.checkpoint().to_json()
    ledger.artifacts.put_bytes(b"after the checkpoint")
    cut = int(json.loads(exported)["seq"]) - 2
    tamper(
        ledger,
        ("DELETE FROM audit_events WHERE seq > :cut", {"cut": cut}),
        ("DELETE FROM audit_checkpoints", {}),  # the attacker removes the stored copy too
    )
    assert ledger.audit.verify().ok  # a shorter chain is still a valid chain...
    report = ledger.audit.verify(checkpoint=Checkpoint.from_json(exported))
    first = report.first_bad  # ...but not one that reaches the exported head
    assert first is not None and "tail truncated" in first.problem
    assert first.seq == json.loads(exported)["seq"]


def test_rewritten_tail_is_caught_by_a_stored_checkpoint(ledger: Workspace) -> None:
    cp = ledger.audit.checkpoint()
    tamper(ledger, ("DELETE FROM audit_events WHERE seq >= :s", {"s": cp.seq}))
    report = ledger.audit.verify()
    assert not report.ok and report.first_bad is not None
    assert report.first_bad.seq == cp.seq


def test_forged_checkpoint_is_refused(ledger: Workspace) -> None:
    cp = ledger.audit.checkpoint()
    forged = Checkpoint(
        workspace_id=cp.workspace_id,
        seq=cp.seq + 100,
        mac=cp.mac,
        key_id=cp.key_id,
        created_at=cp.created_at,
        signature=cp.signature,
    )
    with pytest.raises(TamperedError, match="not signed with this ledger's key"):
        ledger.audit.verify(checkpoint=forged)


def test_verify_or_raise_names_the_first_bad_seq(ledger: Workspace) -> None:
    tamper(ledger, ("UPDATE audit_events SET outcome = 'denied' WHERE seq = 2", {}))
    with pytest.raises(TamperedError, match="seq 2") as info:
        ledger.audit.verify_or_raise()
    assert info.value.exit_code == 8
