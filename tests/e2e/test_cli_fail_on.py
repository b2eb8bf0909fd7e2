"""Issue 10 item 9: `falaj data anomalies` and `falaj train fairness` fail a CI job when they
find an alert or a failed verdict (--fail-on alert|warning|never), and anomalies show severity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tests.e2e.conftest import run_falaj

SPEC = """\
data: loans.csv
target: approved
model_name: loans
family: sklearn.logistic_regression
cv_folds: 2
space:
  C: {type: log, low: 0.1, high: 10}
budget: {max_trials: 2}
"""
POLICY = """\
min_group_size: 10
thresholds:
  - metric: demographic_parity_difference
    max: 0.05
    justification: A deliberately strict limit, so that this biased model fails it.
"""


def _loans(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], n)
    income = rng.normal(50, 10, n) + np.where(group == "a", 15, -15)
    approved = (income + rng.normal(0, 5, n) > 50).astype(int)
    return pd.DataFrame({"income": income.round(1), "group": group, "approved": approved})


def test_anomalies_exit_8_on_an_alert_and_show_the_severity(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert run_falaj("init", str(home)).code == 0
    ws = ("--home", str(home))
    (tmp_path / "ref.csv").write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(200)))
    (tmp_path / "new.csv").write_text("x\n" + "".join(f"{i}\n" for i in range(200)))  # y gone
    assert run_falaj(*ws, "data", "register", "ref", str(tmp_path / "ref.csv")).code == 0
    assert run_falaj(*ws, "data", "register", "new", str(tmp_path / "new.csv")).code == 0
    found = run_falaj(*ws, "data", "anomalies", "new@1", "-r", "ref@1")
    assert found.code == 8, found.err
    assert "[alert] y: column is missing from the batch" in found.out
    as_json = run_falaj(*ws, "data", "anomalies", "new@1", "-r", "ref@1", "--json")
    assert as_json.code == 8 and json.loads(as_json.out)["ok"] is False
    assert (
        run_falaj(*ws, "data", "anomalies", "new@1", "-r", "ref@1", "--fail-on", "never").code == 0
    )
    same = run_falaj(*ws, "data", "anomalies", "ref@1", "-r", "ref@1")
    assert same.code == 0, same.out
    bad = run_falaj(*ws, "data", "anomalies", "new@1", "-r", "ref@1", "--fail-on", "sometimes")
    assert bad.code == 2 and "--fail-on 'sometimes' is invalid" in bad.err


def test_fairness_exits_8_on_a_failed_verdict(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert run_falaj("init", str(home)).code == 0
    ws = ("--home", str(home))
    _loans(300, 1).to_csv(tmp_path / "loans.csv", index=False)
    _loans(200, 2).to_csv(tmp_path / "holdout.csv", index=False)
    (tmp_path / "spec.yaml").write_text(SPEC)
    (tmp_path / "policy.yaml").write_text(POLICY)
    assert run_falaj(*ws, "train", "hpo", str(tmp_path / "spec.yaml"), "--json").code == 0
    audit = (
        "train", "fairness", "loans", "1", "--data", str(tmp_path / "holdout.csv"),
        "--target", "approved", "--sensitive", "group", "--bootstrap", "0",
    )  # fmt: skip
    failed = run_falaj(*ws, *audit, "--policy", str(tmp_path / "policy.yaml"))
    assert failed.code == 8, failed.err[-2000:]
    assert "FAILED" in failed.out
    assert (
        run_falaj(*ws, *audit, "--policy", str(tmp_path / "policy.yaml"), "--fail-on", "never").code
        == 0
    )
    no_verdict = run_falaj(*ws, *audit, "--min-group-size", "10")
    assert no_verdict.code == 0, no_verdict.err[-2000:]
