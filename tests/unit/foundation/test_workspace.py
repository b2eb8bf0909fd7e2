from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from falaj.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from falaj.governance import request_scope
from falaj.logs import JsonFormatter
from falaj.workspace import Workspace


def test_init_writes_settings_file_and_reopens_with_same_identity(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws", region="ae-dubai-1") as ws:
        first_id = ws.id
    assert 'region = "ae-dubai-1"' in (tmp_path / "ws" / "falaj.toml").read_text()
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.id == first_id
        assert ws.settings.region == "ae-dubai-1"
        assert ws.created_at is not None
        assert [e.action for e in ws.audit.list()] == ["workspace.init"]


def test_init_refuses_an_existing_workspace(ws: Workspace) -> None:
    with pytest.raises(AlreadyExistsError, match="already exists"):
        Workspace.init(ws.home)


def test_open_without_workspace_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="falaj init"):
        Workspace.open(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()


def test_put_file_guesses_media_type_and_records_who_and_where(
    ws: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "table.csv"
    path.write_text("a,b\n1,2\n")
    meta = ws.artifacts.put_file(path)
    assert meta.media_type == "text/csv"
    assert meta.created_by == "alice" and meta.region == "ae-dubai-1"
    assert ws.artifacts.info(f"sha256:{meta.digest}") == meta
    event = ws.audit.list(action="artifact.put")[0]
    assert event.resource_id == meta.digest and event.details["name"] == "table.csv"


def test_unknown_artifact_and_bad_media_type_are_clear_errors(ws: Workspace) -> None:
    with pytest.raises(NotFoundError, match="not registered"):
        ws.artifacts.info("a" * 64)
    with pytest.raises(InvalidInputError, match="media_type"):
        ws.artifacts.put_bytes(b"x", media_type="csv")
    assert ws.artifacts.list() == []


def test_verify_reports_missing_objects(ws: Workspace) -> None:
    meta = ws.artifacts.put_bytes(b"soon gone")
    ws.artifacts.objects.delete(meta.digest)
    report = ws.artifacts.verify()
    assert report.missing == [meta.digest] and not report.ok


def test_request_scope_ties_audit_events_together(ws: Workspace) -> None:
    with request_scope("req-123"):
        ws.artifacts.put_bytes(b"1")
        ws.artifacts.put_bytes(b"2")
    ws.artifacts.put_bytes(b"3")
    ids = [e.request_id for e in ws.audit.list(action="artifact.put", newest_first=False)]
    assert ids[:2] == ["req-123", "req-123"] and ids[2] != "req-123"


def test_json_logs_carry_request_id_and_extras() -> None:
    record = logging.makeLogRecord(
        {
            "msg": "stored %s",
            "args": ("x",),
            "levelname": "INFO",
            "name": "falaj.test",
            "digest": "abc",
        }
    )
    with request_scope("rid-1"):
        payload = json.loads(JsonFormatter().format(record))
    assert payload["msg"] == "stored x" and payload["request_id"] == "rid-1"
    assert payload["digest"] == "abc"
