"""The remote client and the CLI against a real server process: a run logged in batches over
HTTP, a model registered, approved by a second principal, promoted through the gates, loaded;
datasets and artifacts round-trip; a viewer's promotion is refused and audited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import falaj
from falaj.errors import PermissionDeniedError
from falaj.workspace import Workspace
from tests.e2e.server_support import Served, start_server
from tests.registry_support import fitted_model, training_frame

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_server(tmp_path_factory.mktemp("client") / "ws", "--auth-burst", "1000")
    try:
        for name, role in [
            ("dana", "data-scientist"),
            ("abe", "approver"),
            ("mel", "ml-engineer"),
            ("vic", "viewer"),
            ("audrey", "auditor"),
        ]:
            server.user(name, role)
        yield server
    finally:
        server.stop()


def _access_records(served: Served, path_part: str) -> list[dict[str, object]]:
    records = []
    for line in served.log.read_text().splitlines():
        if line.startswith("{") and "falaj.server.access" in line:
            record = json.loads(line)
            if path_part in str(record.get("path")):
                records.append(record)
    return records


def test_remote_run_is_logged_in_batches_and_reads_back(served: Served, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with Workspace.connect(served.url, token=served.tokens["dana"]) as ws:
        with ws.start_run("remote-exp", run_name="r1", tags={"team": "risk"}) as run:
            run.log_params({"C": 0.5, "penalty": "l2"})
            for step in range(2500):
                run.log_metric("loss", 1.0 / (step + 1), step=step)
            run.log_artifact(notes, "docs/notes.txt")
        got = ws.tracking.get_run(run.id)
        assert got.status == "FINISHED" and got.created_by == "dana"
        assert got.params == {"C": "0.5", "penalty": "l2"}
        assert got.tags["team"] == "risk"
        assert got.metrics["loss"] == pytest.approx(1 / 2500)
        assert [a.name for a in got.artifacts] == ["docs/notes.txt"]
        history = ws.tracking.metric_history(run.id, "loss")
        assert len(history) == 2500 and history[0].value == 1.0
        page = ws.tracking.search_runs("params.penalty = 'l2'", experiment="remote-exp")
        assert [r.id for r in page.runs] == [run.id]
        ws.tracking.get_artifact(run.id, "docs/notes.txt", tmp_path / "back.txt")
        assert (tmp_path / "back.txt").read_text() == "hello"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(_access_records(served, f"{run.id}/log")) < 3:
        time.sleep(0.1)
    # 2,500 metrics and 2 params in batches of at most 1,000 values: 3 requests, not 2,502
    assert len(_access_records(served, f"{run.id}/log")) == 3


def test_register_approve_promote_and_load_through_the_api(served: Served) -> None:
    frame, _ = training_frame()
    model = fitted_model()
    with falaj.connect(served.url, token=served.tokens["dana"]) as dana:
        with dana.start_run("remote-exp") as run:
            run.log_metric("roc_auc", 0.9)
            logged = run.log_model(model, "model", input_example=frame)
        version = dana.registry.create_version("remote-credit", logged)
        assert version.version == 1 and version.created_by == "dana"
    with Workspace.open(served.home) as owner:  # the workspace's owner sets the policy
        owner.registry.set_policy(
            "remote-credit", "risk: low\napprovals: {count: 1, role: approver}\n"
        )
    with falaj.connect(served.url, token=served.tokens["mel"]) as mel:
        assert not mel.registry.check_gates("remote-credit", 1).passed  # no approval yet
    with falaj.connect(served.url, token=served.tokens["abe"]) as abe:
        approval = abe.registry.approve("remote-credit", 1, comment="reviewed the evaluation")
        assert approval.approver == "abe" and "approver" in approval.roles
    with falaj.connect(served.url, token=served.tokens["vic"]) as vic:
        with pytest.raises(PermissionDeniedError, match=r"vic may not model\.promote"):
            vic.registry.promote("remote-credit", 1, alias="champion", reason="I like it")
        assert vic.registry.aliases("remote-credit") == {}
    with falaj.connect(served.url, token=served.tokens["mel"]) as mel:
        record = mel.registry.promote("remote-credit", 1, alias="champion", reason="gates pass")
        assert record.requester == "mel" and record.version == 1
        assert mel.registry.get_version("remote-credit", "champion").version == 1
        loaded = mel.registry.load_model("remote-credit", "champion")
        assert list(loaded.predict(frame)) == list(model.predict(frame))
    with falaj.connect(served.url, token=served.tokens["audrey"]) as audrey:
        denied = audrey.audit.list(outcome="denied", principal="vic")
        assert [(e.action, e.resource_id) for e in denied] == [("model.promote", "remote-credit/1")]


def test_datasets_and_artifacts_round_trip(served: Served, tmp_path: Path) -> None:
    frame = pd.DataFrame({"income": [1.5, 2.5, 3.5], "city": ["a", "b", None]})
    csv = tmp_path / "loans.csv"
    csv.write_text("income,city\n1.0,x\n2.0,y\n")
    with Workspace.connect(served.url, token=served.tokens["dana"]) as ws:
        first = ws.datasets.register("remote-loans", frame, description="from a frame")
        assert (first.version, first.row_count, first.created_by) == (1, 3, "dana")
        second = ws.datasets.register("remote-loans", csv)
        assert second.version == 2 and second.row_count == 2
        assert [d.version for d in ws.datasets.versions("remote-loans")] == [1, 2]
        assert ws.datasets.get("remote-loans@1").content_digest == first.content_digest
        pd.testing.assert_frame_equal(ws.datasets.load("remote-loans", 1), frame)
        info = ws.artifacts.put_bytes(b"\x00payload" * 1000, media_type="application/x-test")
        assert ws.artifacts.get_bytes(info.digest) == b"\x00payload" * 1000
        assert ws.artifacts.info(info.digest).media_type == "application/x-test"


def test_environment_names_the_server_and_token(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FALAJ_SERVER_URL", served.url)
    monkeypatch.setenv("FALAJ_TOKEN", served.tokens["vic"])
    with falaj.connect() as ws:
        assert ws.principal.name == "vic"
        assert {e.name for e in ws.tracking.list_experiments()} >= {"remote-exp"}


def _cli(served: Served, token: str, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FALAJ_SERVER_URL": served.url,
        "FALAJ_TOKEN": token,
        "HOME": str(home),
        "PYTHONPATH": str(Path(__file__).parents[2] / "src"),
    }
    return subprocess.run(
        [sys.executable, "-m", "falaj", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_cli_commands_work_against_the_server(served: Served, tmp_path: Path) -> None:
    frame, _ = training_frame()
    with falaj.connect(served.url, token=served.tokens["dana"]) as ws:
        with ws.start_run("cli-exp") as run:
            run.log_metric("auc", 0.7)
            logged = run.log_model(fitted_model(), "model", input_example=frame)
        ws.registry.create_version("cli-model", logged)
        ws.datasets.register("cli-data", pd.DataFrame({"x": [1, 2]}))
    token = served.tokens["audrey"]
    runs = _cli(served, token, "runs", "list", "--experiment", "cli-exp", "--json", home=tmp_path)
    assert runs.returncode == 0, runs.stderr
    assert [r["id"] for r in json.loads(runs.stdout)["runs"]] == [run.id]
    shown = _cli(served, token, "runs", "show", run.id, home=tmp_path)
    assert shown.returncode == 0 and "auc" in shown.stdout, shown.stderr
    models = _cli(served, token, "models", "list", home=tmp_path)
    assert models.returncode == 0 and "cli-model" in models.stdout, models.stderr
    refused = _cli(served, token, "promote", "cli-model", "1", "--reason", "r", home=tmp_path)
    assert refused.returncode == 7, refused.stderr  # PermissionDeniedError's exit code
    assert "audrey may not model.promote" in refused.stderr
    no_policy = _cli(
        served, served.tokens["mel"], "promote", "cli-model", "1", "--reason", "r", home=tmp_path
    )
    assert no_policy.returncode == 3 and "has no gate policy" in no_policy.stderr
    data = _cli(served, token, "data", "show", "cli-data", home=tmp_path)
    assert data.returncode == 0 and "cli-data" in data.stdout, data.stderr
    audit = _cli(served, token, "audit", "list", "--limit", "5", "--json", home=tmp_path)
    assert audit.returncode == 0 and len(json.loads(audit.stdout)) == 5, audit.stderr
    other = _cli(served, token, "lineage", f"run:{run.id}", home=tmp_path)
    assert other.returncode != 0
    assert "`falaj lineage` is not supported against a server" in other.stderr
    assert "Traceback" not in other.stderr


def test_login_stores_the_token_for_the_server_with_mode_0600(
    served: Served, tmp_path: Path
) -> None:
    token = served.tokens["vic"]
    login = _cli(served, "", "login", "--token", token, home=tmp_path)
    assert login.returncode == 0, login.stderr
    stored = tmp_path / ".config" / "falaj" / "credentials.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert json.loads(stored.read_text()) == {served.url: token}
    listed = _cli(served, "", "models", "list", home=tmp_path)  # the stored token is used
    assert listed.returncode == 0, listed.stderr
