from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from falaj.demo.sample_data import german_credit_path
from falaj.training.reports.html import external_references
from tests.e2e.conftest import run_falaj

SPEC = """\
data: credit.csv
target: risk
experiment: credit-hpo
model_name: credit-risk
family: sklearn.logistic_regression
metric: roc_auc
cv_folds: 2
space:
  C: {type: log, low: 0.01, high: 10}
budget: {max_trials: 3, wall_time_s: 60}
"""
POLICY = """\
name: committee-2026
min_group_size: 20
thresholds:
  - metric: demographic_parity_difference
    max: 0.3
    justification: Interim limit of the credit committee for this small sample.
"""


def test_train_commands_search_evaluate_audit_explain_and_card(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert run_falaj("init", str(home)).code == 0
    frame = pd.read_csv(german_credit_path())
    frame.iloc[:400].to_csv(tmp_path / "credit.csv", index=False)
    frame.iloc[400:700].to_csv(tmp_path / "holdout.csv", index=False)
    (tmp_path / "spec.yaml").write_text(SPEC)
    (tmp_path / "policy.yaml").write_text(POLICY)
    ws = ("--home", str(home))

    hpo = run_falaj(*ws, "train", "hpo", str(tmp_path / "spec.yaml"), "--json")
    assert hpo.code == 0, hpo.err[-2000:]
    result = json.loads(hpo.out)
    assert result["stop_reason"] == "max_trials"
    assert sum(result["trials"].values()) == 3
    assert result["registered_version"] == 1

    holdout = ("--data", str(tmp_path / "holdout.csv"), "--target", "risk")
    ev = run_falaj(
        *ws,
        "train",
        "evaluate",
        "credit-risk",
        "1",
        *holdout,
        "--bootstrap",
        "100",
        "--slice",
        "sex",
        "--json",
    )
    assert ev.code == 0, ev.err[-2000:]
    summary = json.loads(ev.out)["summary"]
    lo, hi = summary["intervals"]["roc_auc"]
    assert lo <= summary["metrics"]["roc_auc"] <= hi

    fair = run_falaj(
        *ws,
        "train",
        "fairness",
        "credit-risk",
        "1",
        *holdout,
        "--sensitive",
        "sex",
        "--policy",
        str(tmp_path / "policy.yaml"),
        "--out",
        str(tmp_path / "out"),
    )
    assert fair.code == 0, fair.err[-2000:]
    assert "fairness of credit-risk v1" in fair.out
    html = (tmp_path / "out" / "credit-risk-v1-fairness.html").read_text()
    assert "Interim limit of the credit committee" in html
    assert external_references(html) == []

    ex = run_falaj(
        *ws, "train", "explain", "credit-risk", "1", *holdout, "--max-rows", "50", "--json"
    )
    assert ex.code == 0, ex.err[-2000:]
    assert json.loads(ex.out)["summary"]["method"] == "linear"

    card = run_falaj(
        *ws,
        "train",
        "card",
        "credit-risk",
        "1",
        "--intended-use",
        "Ranking applications for review",
        "--out",
        str(tmp_path / "out"),
    )
    assert card.code == 0, card.err[-2000:]
    md = (tmp_path / "out" / "credit-risk-v1-model_card.md").read_text()
    assert "Ranking applications for review" in md
    assert "## Fairness" in md and "committee" in md


def test_malformed_spec_is_one_line_error_naming_the_field(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert run_falaj("init", str(home)).code == 0
    spec = tmp_path / "bad.yaml"
    spec.write_text(SPEC.replace("type: log", "type: logarithmic"))
    r = run_falaj("--home", str(home), "train", "hpo", str(spec))
    assert r.code == 2
    assert "'C'" in r.err and "logarithmic" in r.err
    assert "Traceback" not in r.err


def test_demo_training_stage_leaves_a_candidate_with_evidence(tmp_path: Path) -> None:
    from falaj.demo.runner import run_demo
    from falaj.workspace import Workspace

    results = run_demo(tmp_path / "demo", keep=True, only=["foundation", "training"])
    version = results["candidate_version"]
    assert isinstance(version, int)
    for path in results["training_reports"].values():
        assert external_references(Path(path).read_text()) == []
    with Workspace.open(tmp_path / "demo" / "workspace") as ws:
        kinds = {e.kind for e in ws.registry.evidence("credit-risk", version)}
        assert kinds == {"evaluation", "fairness", "explanation", "model_card"}
        parent = ws.tracking.get_run(results["hpo_parent_run"])
        assert parent.tags["stop_reason"] in ("max_trials", "wall_time")
        children = ws.tracking.search_runs(experiment="credit-risk-hpo", max_results=50).runs
        trials = [r for r in children if r.parent_id == parent.id]
        assert len(trials) == sum(int(v) for k, v in parent.tags.items() if k.startswith("trials."))
