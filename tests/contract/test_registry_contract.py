"""The registry contract on every metadata backend (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from falaj.errors import InvalidInputError
from falaj.lineage import Node
from falaj.registry.errors import (
    AliasNotFoundError,
    ModelNotFoundError,
    ModelVersionNotFoundError,
    VersionStateError,
)
from falaj.workspace import Workspace
from tests.registry_support import fitted_model, log_model, training_frame


def test_versions_are_numbered_from_one_per_model(any_ws: Workspace) -> None:
    logged = log_model(any_ws)
    numbers = [any_ws.registry.create_version("credit-risk", logged).version for _ in range(3)]
    other = any_ws.registry.create_version("fraud", logged).version
    assert numbers == [1, 2, 3]
    assert other == 1
    assert any_ws.registry.get_model("credit-risk").latest_version == 3


def test_version_points_at_its_run_and_artifact(any_ws: Workspace) -> None:
    logged = log_model(any_ws)
    mv = any_ws.registry.create_version(
        "credit-risk", logged, description="baseline", tags={"team": "risk"}
    )
    assert (mv.run_id, mv.artifact_digest, mv.flavor) == (
        logged.run_id,
        logged.artifact_digest,
        logged.flavor,
    )
    assert mv.source_uri == f"runs:/{logged.run_id}/model"
    assert any_ws.registry.get_version("credit-risk", 1) == mv
    assert (mv.status, mv.created_by, mv.description, mv.tags) == (
        "READY",
        "alice",
        "baseline",
        {"team": "risk"},
    )


def test_registering_a_runs_uri_resolves_the_logged_model(any_ws: Workspace) -> None:
    logged = log_model(any_ws)
    mv = any_ws.registry.create_version("credit-risk", logged.uri)
    assert (mv.run_id, mv.artifact_digest) == (logged.run_id, logged.artifact_digest)


def test_a_version_is_produced_by_its_run_in_lineage(any_ws: Workspace) -> None:
    logged = log_model(any_ws)
    mv = any_ws.registry.create_version("credit-risk", logged)
    edges = any_ws.lineage.upstream(Node("model_version", "credit-risk/1"), max_depth=1)
    assert [(str(e.source), e.relation) for e in edges] == [(f"run:{mv.run_id}", "produced")]


def test_get_version_by_number_alias_and_latest(any_ws: Workspace) -> None:
    logged = log_model(any_ws)
    for _ in range(3):
        any_ws.registry.create_version("credit-risk", logged)
    any_ws.registry.set_alias("credit-risk", "champion", 2, reason="best AUC")
    assert any_ws.registry.get_version("credit-risk", "champion").version == 2
    assert any_ws.registry.get_version("credit-risk", "latest").version == 3
    assert any_ws.registry.get_version("credit-risk", "1").version == 1
    assert any_ws.registry.get_version("credit-risk", 2).aliases == ("champion",)


def test_alias_history_records_who_when_why_and_from_to(any_ws: Workspace) -> None:
    logged = log_model(any_ws)
    for _ in range(2):
        any_ws.registry.create_version("credit-risk", logged)
    any_ws.registry.set_alias("credit-risk", "champion", 1, reason="first model")
    any_ws.registry.set_alias("credit-risk", "champion", 2, reason="retrained on Q3 data")
    any_ws.registry.delete_alias("credit-risk", "champion", reason="incident 42: rollback")
    moves = any_ws.registry.alias_history("credit-risk", "champion")
    assert [(m.from_version, m.to_version, m.moved_by, m.reason) for m in moves] == [
        (None, 1, "alice", "first model"),
        (1, 2, "alice", "retrained on Q3 data"),
        (2, None, "alice", "incident 42: rollback"),
    ]
    assert moves[0].moved_at <= moves[1].moved_at <= moves[2].moved_at
    assert any_ws.registry.aliases("credit-risk") == {}


def test_alias_at_answers_which_version_held_the_alias_at_a_time(any_ws: Workspace) -> None:
    # Judged on the times the store recorded for each move, never on the test's own clock: two
    # successive clock readings may be equal, and the store's clock is not the test's.
    logged = log_model(any_ws)
    for _ in range(2):
        any_ws.registry.create_version("credit-risk", logged)
    any_ws.registry.set_alias("credit-risk", "champion", 1, reason="first")
    any_ws.registry.set_alias("credit-risk", "champion", 2, reason="second")
    any_ws.registry.delete_alias("credit-risk", "champion", reason="retired")
    moves = any_ws.registry.alias_history("credit-risk", "champion")
    assert [m.to_version for m in moves] == [1, 2, None]
    at = any_ws.registry.alias_at
    tick = dt.timedelta(microseconds=1)
    assert at("credit-risk", "champion", moves[0].moved_at - tick) is None
    for move in moves:
        # the last move recorded at or before that instant (moves in one instant: the later one)
        expected = [m for m in moves if m.moved_at <= move.moved_at][-1].to_version
        assert at("credit-risk", "champion", move.moved_at) == expected
    assert at("credit-risk", "champion", moves[-1].moved_at + dt.timedelta(days=1)) is None
    assert at("credit-risk", "challenger", moves[-1].moved_at) is None


def test_alias_at_refuses_a_naive_time(any_ws: Workspace) -> None:
    any_ws.registry.create_version("credit-risk", log_model(any_ws))
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        any_ws.registry.alias_at("credit-risk", "champion", dt.datetime(2026, 1, 1))


def test_soft_delete_keeps_the_row_its_alias_history_and_audit(any_ws: Workspace) -> None:
    logged = log_model(any_ws)
    for _ in range(2):
        any_ws.registry.create_version("credit-risk", logged)
    any_ws.registry.set_alias("credit-risk", "champion", 1, reason="first")
    any_ws.registry.set_alias("credit-risk", "champion", 2, reason="second")
    deleted = any_ws.registry.delete_version("credit-risk", 1, reason="superseded")
    assert deleted.status == "DELETED"
    assert [v.version for v in any_ws.registry.list_versions("credit-risk")] == [2]
    assert [
        v.version for v in any_ws.registry.list_versions("credit-risk", include_deleted=True)
    ] == [2, 1]
    assert any_ws.registry.get_version("credit-risk", 1).status == "DELETED"
    assert [m.to_version for m in any_ws.registry.alias_history("credit-risk", "champion")] == [
        1,
        2,
    ]
    events = any_ws.audit.list(resource_id="credit-risk/1", newest_first=False)
    assert [(e.action, e.outcome) for e in events] == [
        ("model.version.create", "success"),
        ("model.version.delete", "success"),
    ]
    assert events[1].details["reason"] == "superseded"


def test_deleting_a_version_an_alias_points_at_is_refused(any_ws: Workspace) -> None:
    any_ws.registry.create_version("credit-risk", log_model(any_ws))
    any_ws.registry.set_alias("credit-risk", "champion", 1, reason="first")
    with pytest.raises(VersionStateError, match="aliases champion point at it"):
        any_ws.registry.delete_version("credit-risk", 1)
    assert any_ws.registry.get_version("credit-risk", 1).status == "READY"
    assert any_ws.audit.list(action="model.version.delete")[0].outcome == "failure"


def test_an_alias_cannot_point_at_a_deleted_or_archived_version(any_ws: Workspace) -> None:
    logged = log_model(any_ws)
    for _ in range(2):
        any_ws.registry.create_version("credit-risk", logged)
    any_ws.registry.delete_version("credit-risk", 1)
    any_ws.registry.archive("credit-risk", 2)
    for version in (1, 2):
        with pytest.raises(VersionStateError, match="expected READY"):
            any_ws.registry.set_alias("credit-risk", "champion", version, reason="try")
    assert any_ws.registry.alias_history("credit-risk") == []


def test_archive_and_restore_change_the_status(any_ws: Workspace) -> None:
    any_ws.registry.create_version("credit-risk", log_model(any_ws))
    assert any_ws.registry.archive("credit-risk", 1, reason="old").status == "ARCHIVED"
    assert any_ws.registry.restore("credit-risk", 1).status == "READY"


def test_tags_and_descriptions_are_updated(any_ws: Workspace) -> None:
    any_ws.registry.create_version("credit-risk", log_model(any_ws), tags={"a": "1"})
    any_ws.registry.set_version_tag("credit-risk", 1, "validated", "yes")
    mv = any_ws.registry.delete_version_tag("credit-risk", 1, "a")
    assert mv.tags == {"validated": "yes"}
    mv = any_ws.registry.set_version_description("credit-risk", 1, "LR on income and debt")
    assert mv.description == "LR on income and debt"
    model = any_ws.registry.set_model_description("credit-risk", "Retail credit default risk")
    assert model.description == "Retail credit default risk"


def test_unknown_model_version_and_alias_are_clear_errors(any_ws: Workspace) -> None:
    with pytest.raises(ModelNotFoundError, match="'nope' does not exist"):
        any_ws.registry.get_version("nope", 1)
    any_ws.registry.create_version("credit-risk", log_model(any_ws))
    with pytest.raises(ModelVersionNotFoundError, match="no version 7"):
        any_ws.registry.get_version("credit-risk", 7)
    with pytest.raises(AliasNotFoundError, match="no alias 'champion'"):
        any_ws.registry.get_version("credit-risk", "champion")


def test_invalid_input_is_refused_and_changes_nothing(any_ws: Workspace) -> None:
    logged = log_model(any_ws)
    with pytest.raises(InvalidInputError, match="model name 'bad/name' is invalid"):
        any_ws.registry.create_version("bad/name", logged)
    with pytest.raises(InvalidInputError, match="tag 'k' value 3 is invalid"):
        any_ws.registry.create_version("credit-risk", logged, tags={"k": 3})  # type: ignore[dict-item]
    with pytest.raises(InvalidInputError, match="expected a LoggedModel or a 'runs:/"):
        any_ws.registry.create_version("credit-risk", "s3://bucket/model.pkl")
    assert any_ws.registry.list_models() == []
    any_ws.registry.create_version("credit-risk", logged)
    with pytest.raises(InvalidInputError, match="alias '1abc' is invalid"):
        any_ws.registry.set_alias("credit-risk", "1abc", 1, reason="x")
    with pytest.raises(InvalidInputError, match="reason '' is invalid"):
        any_ws.registry.set_alias("credit-risk", "champion", 1, reason="")
    assert any_ws.registry.aliases("credit-risk") == {}


def test_evidence_is_attached_listed_and_validated(any_ws: Workspace) -> None:
    any_ws.registry.create_version("credit-risk", log_model(any_ws))
    report = any_ws.artifacts.put_bytes(b"<html>eval</html>", media_type="text/html")
    summary = {"metrics": {"roc_auc": 0.81}, "intervals": {"roc_auc": [0.78, 0.84]}}
    ev = any_ws.registry.attach_evidence(
        "credit-risk", 1, "evaluation", summary=summary, artifact_digest=report.digest
    )
    assert (ev.kind, ev.summary, ev.artifact_digest, ev.created_by) == (
        "evaluation",
        summary,
        report.digest,
        "alice",
    )
    assert [e.id for e in any_ws.registry.evidence("credit-risk", 1)] == [ev.id]
    with pytest.raises(InvalidInputError, match="evaluation evidence metric 'roc_auc' is 'high'"):
        any_ws.registry.attach_evidence(
            "credit-risk", 1, "evaluation", summary={"metrics": {"roc_auc": "high"}}
        )
    assert len(any_ws.registry.evidence("credit-risk", 1)) == 1


def test_a_registered_model_loads_by_alias_and_predicts(any_ws: Workspace) -> None:
    any_ws.registry.create_version("credit-risk", log_model(any_ws))
    any_ws.registry.set_alias("credit-risk", "champion", 1, reason="first")
    frame, _ = training_frame()
    loaded = any_ws.registry.load_model("credit-risk", "champion")
    assert loaded.predict(frame).tolist() == fitted_model().predict(frame).tolist()
