"""Issue 10 item 7: a model searched on a yes/no target keeps its classes, so it can be
evaluated and audited on that target; --positive-label picks the positive class; errors print
plain values."""

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
positive_label: "yes"
cv_folds: 2
space:
  C: {type: log, low: 0.1, high: 10}
budget: {max_trials: 2}
"""


def _loans(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 10, n).round(1)
    group = rng.choice(["a", "b"], n)
    approved = np.where(income + rng.normal(0, 5, n) > 50, "yes", "no")
    return pd.DataFrame({"income": income, "group": group, "approved": approved})


def test_a_yes_no_model_is_evaluated_and_audited_on_its_own_labels(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert run_falaj("init", str(home)).code == 0
    _loans(200, 1).to_csv(tmp_path / "loans.csv", index=False)
    _loans(120, 2).to_csv(tmp_path / "holdout.csv", index=False)
    (tmp_path / "spec.yaml").write_text(SPEC)
    ws = ("--home", str(home))
    hpo = run_falaj(*ws, "train", "hpo", str(tmp_path / "spec.yaml"), "--json")
    assert hpo.code == 0, hpo.err[-2000:]
    data = ("--data", str(tmp_path / "holdout.csv"), "--target", "approved")

    ev = run_falaj(*ws, "train", "evaluate", "loans", "1", *data, "--bootstrap", "0", "--json")
    assert ev.code == 0, ev.err[-2000:]
    summary = json.loads(ev.out)["summary"]
    assert summary["positive_label"] == "yes"
    assert summary["in_sample"] is False
    assert 0.8 < summary["metrics"]["roc_auc"] <= 1.0

    flipped = run_falaj(
        *ws, "train", "evaluate", "loans", "1", *data, "--bootstrap", "0",
        "--positive-label", "no", "--json",
    )  # fmt: skip
    assert flipped.code == 0, flipped.err[-2000:]
    flipped_summary = json.loads(flipped.out)["summary"]
    assert flipped_summary["positive_label"] == "no"
    assert flipped_summary["metrics"]["roc_auc"] == summary["metrics"]["roc_auc"]  # symmetric

    fair = run_falaj(
        *ws, "train", "fairness", "loans", "1", *data, "--sensitive", "group",
        "--min-group-size", "10", "--bootstrap", "0", "--positive-label", "yes", "--json",
    )  # fmt: skip
    assert fair.code == 0, fair.err[-2000:]

    wrong = run_falaj(*ws, "train", "evaluate", "loans", "1", *data, "--positive-label", "maybe")
    assert wrong.code != 0
    assert "positive_label 'maybe' is not a class of loans v1: expected one of ['no', 'yes']" in (
        wrong.err
    )
    assert "Traceback" not in wrong.err and "np." not in wrong.err


def test_errors_print_plain_values_not_numpy_reprs() -> None:
    import pytest

    from falaj.training.errors import EvaluationInputError
    from falaj.training.evaluation import evaluate_classification

    with pytest.raises(EvaluationInputError) as info:
        evaluate_classification(
            np.array(["no", "yes", "no"]), np.array([0.2, 0.8, 0.4]),
            positive_label=np.int64(1), n_bootstrap=0,
        )  # fmt: skip
    assert str(info.value) == "positive_label 1 is not one of the classes ['no', 'yes']"
