"""``falaj deploy``, ``falaj rollout``, ``falaj predict`` and ``falaj build`` as users type them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from falaj.governance.principal import Principal
from falaj.workspace import Workspace
from tests.e2e.conftest import run_falaj
from tests.serving_support import MODEL, frame, register

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "ws"
    with Workspace.init(home, principal=Principal("alice")) as ws:
        one = register(ws)
        register(ws)
        ws.registry.set_alias(MODEL, "champion", one, reason="cli tests")
    return home


def _json(*args: str, home: Path) -> object:
    r = run_falaj("--home", str(home), *args, "--json")
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_deploy_rollout_predict_and_build(home: Path, tmp_path: Path) -> None:
    dep = _json("deploy", "create", "credit", "--model", f"{MODEL}@champion", home=home)
    assert dep["revisions"][0]["model"] == f"{MODEL}/1"  # type: ignore[index]
    shown = _json("deploy", "update", "credit", "--add", f"{MODEL}/2", "--shadow", "0.5", home=home)
    assert [r["role"] for r in shown["revisions"]] == ["serving", "shadow"]  # type: ignore[index]
    listed = _json("deploy", "list", home=home)
    assert [d["name"] for d in listed] == ["credit"]  # type: ignore[union-attr]

    ro = _json(
        "rollout", "start", "credit", "--model", f"{MODEL}/2", "--steps", "10,100", home=home
    )
    assert ro["canary_weight"] == 10 and ro["state"] == "running"  # type: ignore[index]
    assert _json("rollout", "pause", "credit", home=home)["state"] == "paused"  # type: ignore[index]
    r = run_falaj("--home", str(home), "rollout", "pause", "credit")
    assert r.code != 0 and "is paused, not running" in r.err and "Traceback" not in r.err
    assert _json("rollout", "resume", "credit", home=home)["state"] == "running"  # type: ignore[index]
    status = _json("rollout", "rollback", "credit", "--reason", "test", home=home)
    assert status["state"] == "rolled_back"  # type: ignore[index]
    r = run_falaj("--home", str(home), "rollout", "status", "credit")
    assert r.code == 0 and "rolled_back" in r.out and "rollback" in r.out

    x, _ = frame(120)
    source = tmp_path / "in.parquet"
    x.to_parquet(source)
    out = tmp_path / "scored.parquet"
    scored = _json(
        "predict", "--deployment", "credit", "--input", str(source), "--output", str(out),
        "--chunk-rows", "50", home=home,
    )  # fmt: skip
    assert scored["rows"] == 120 and scored["chunks"] == 3  # type: ignore[index]
    result = pd.read_parquet(out)
    with Workspace.open(home) as ws:
        expected = ws.registry.load_model(MODEL, 1).predict(x)
    assert result["prediction"].tolist() == expected.tolist()
    assert {"proba_0", "proba_1", "income", "debt"} <= set(result.columns)

    built = _json("build", "credit", "--out", str(tmp_path / "bundle"), home=home)
    assert len(built["files"]) == 4  # type: ignore[index]


def test_mistakes_are_one_line_errors(home: Path, tmp_path: Path) -> None:
    for args, words in (
        (("deploy", "create", "credit", "--model", "credit/x"), "model reference 'credit/x'"),
        (("deploy", "show", "nope"), "deployment 'nope' does not exist"),
        (("rollout", "status", "nope"), "deployment 'nope' has no rollout"),
        (("deploy", "update", "nope"), "nothing to update"),
        (("serve", "--deployment", "nope"), "deployment 'nope' does not exist"),
        (("serve", "credit@nothing"), "nothing"),
        (
            (
                "predict",
                "--deployment",
                "nope",
                "--input",
                str(tmp_path / "x.parquet"),
                "--output",
                str(tmp_path / "y"),
            ),
            "does not exist",
        ),
    ):
        r = run_falaj("--home", str(home), *args)
        assert r.code != 0, args
        assert words in r.err, (args, r.err)
        assert "Traceback" not in r.err
