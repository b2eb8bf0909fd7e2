"""``falaj train`` input mistakes end in one line naming the field, and change nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from falaj.demo.sample_data import german_credit_path
from tests.e2e.conftest import Result, run_falaj

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
budget: {max_trials: 1}
"""
POLICY = """\
min_group_size: 20
thresholds:
  - metric: demographic_parity_difference
    max: 0.3
    justification: Interim limit of the credit committee for this small sample.
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding credit-risk v1 from a one-trial search, and the data files."""
    root = tmp_path_factory.mktemp("train-mistakes")
    assert run_falaj("init", str(root / "ws")).code == 0
    frame = pd.read_csv(german_credit_path())
    frame.iloc[:300].to_csv(root / "credit.csv", index=False)
    frame.iloc[300:500].to_csv(root / "holdout.csv", index=False)
    (root / "spec.yaml").write_text(SPEC)
    r = run_falaj("--home", str(root / "ws"), "train", "hpo", str(root / "spec.yaml"))
    assert r.code == 0, r.err[-2000:]
    return root


def _train(root: Path, *args: str) -> Result:
    return run_falaj("--home", str(root / "ws"), "train", *args)


def _one_line(r: Result) -> str:
    assert "Traceback" not in r.err
    lines = [line for line in r.err.splitlines() if line.strip()]
    assert len(lines) == 1, r.err
    return lines[0]


def _evidence_count(root: Path) -> int:
    from falaj.workspace import Workspace

    with Workspace.open(root / "ws") as ws:
        return len(ws.registry.evidence("credit-risk", 1))


def _holdout(root: Path) -> tuple[str, ...]:
    return ("credit-risk", "1", "--data", str(root / "holdout.csv"), "--target", "risk")


def test_hpo_parameter_the_estimator_lacks_is_refused_before_any_trial(trained: Path) -> None:
    spec = trained / "bogus.yaml"
    spec.write_text(SPEC.replace("  C:", "  bogus_c:"))
    r = _train(trained, "hpo", str(spec))
    assert r.code == 2
    line = _one_line(r)  # no trial ran, so Optuna logged no failed trial
    assert "'bogus_c'" in line and "LogisticRegression" in line and "'C'" in line


def test_hpo_spec_that_is_not_yaml_names_the_line(trained: Path) -> None:
    spec = trained / "broken.yaml"
    spec.write_text("space: [1\n")
    r = _train(trained, "hpo", str(spec))
    assert r.code == 2
    assert "not valid YAML" in _one_line(r) and "line 2" in r.err


def test_hpo_spec_path_that_is_a_folder_is_refused(trained: Path) -> None:
    r = _train(trained, "hpo", str(trained))
    assert r.code == 2
    assert "cannot be read" in _one_line(r)


def test_hpo_spec_data_that_is_not_a_path_is_named(trained: Path) -> None:
    spec = trained / "data5.yaml"
    spec.write_text(SPEC.replace("data: credit.csv", "data: 5"))
    r = _train(trained, "hpo", str(spec))
    assert r.code == 2
    assert "data=5 is invalid" in _one_line(r)


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("- min_group_size: 20\n", "fairness policy must be a mapping, got list"),
        (POLICY + "treshold: 0.2\n", "unknown key(s) ['treshold']"),
        ("", "is empty: expected min_group_size and thresholds"),
    ],
    ids=["list", "unknown-key", "empty"],
)
def test_fairness_policy_file_mistakes_are_one_line(
    trained: Path, policy: str, message: str
) -> None:
    path = trained / "policy.yaml"
    path.write_text(policy)
    before = _evidence_count(trained)
    r = _train(trained, "fairness", *_holdout(trained), "--sensitive", "sex", "--policy", str(path))
    assert r.code == 2
    assert message in _one_line(r)
    assert _evidence_count(trained) == before


def test_fairness_intersections_skip_value_combinations_no_row_has(trained: Path) -> None:
    # job x housing has combinations with no row in 200 applicants: they are not groups
    r = _train(
        trained, "fairness", *_holdout(trained), "--sensitive", "job", "--sensitive", "housing",
        "--min-group-size", "10", "--intersections", "--bootstrap", "20", "--json",
    )  # fmt: skip
    assert r.code == 0, r.err[-2000:]
    frame = pd.read_csv(trained / "holdout.csv")
    present = {f"{j} & {h}" for j, h in zip(frame["job"], frame["housing"], strict=True)}
    import json

    summary = json.loads(r.out)["summary"]
    flagged = {g.split("=", 1)[1] for g in summary["unreliable_groups"] if " x " in g}
    assert flagged and flagged <= present


def test_explain_max_rows_below_one_is_refused(trained: Path) -> None:
    r = _train(trained, "explain", *_holdout(trained), "--max-rows", "0")
    assert r.code == 2
    assert "max_rows 0 is invalid" in _one_line(r)


def test_out_that_is_a_file_fails_before_evidence_is_stored(trained: Path) -> None:
    taken = trained / "taken"
    taken.write_text("not a folder")
    before = _evidence_count(trained)
    r = _train(trained, "evaluate", *_holdout(trained), "--out", str(taken))
    assert r.code == 2
    assert f"--out {taken} cannot be used as a report folder" in _one_line(r)
    assert _evidence_count(trained) == before
