"""Arguments naming columns are checked against the data's schema before any model or data is
loaded: a typo fails at once, not after the model loaded (issue 12, "a slow failure")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import run_falaj


@pytest.fixture
def home(tmp_path: Path) -> str:
    ws = str(tmp_path / "ws")
    assert run_falaj("init", ws).code == 0
    (tmp_path / "rows.csv").write_text("age,sex,risk\n30,f,1\n41,m,0\n")
    assert run_falaj("--home", ws, "data", "register", "rows", str(tmp_path / "rows.csv")).code == 0
    return ws


@pytest.mark.parametrize("source", ["dataset", "data"])
def test_fairness_sensitive_column_typo_is_refused_before_the_model_is_looked_at(
    home: str, tmp_path: Path, source: str
) -> None:
    where = ["--dataset", "rows"] if source == "dataset" else ["--data", str(tmp_path / "rows.csv")]
    # The model does not exist: had it been loaded first, the error would be about the model.
    r = run_falaj(
        "--home", home, "train", "fairness", "no-such-model", "1", *where,
        "--target", "risk", "--sensitive", "NOT_A_COLUMN", "--min-group-size", "1",
    )  # fmt: skip
    assert r.code != 0
    assert "Traceback" not in r.err
    assert "--sensitive 'NOT_A_COLUMN' is not a column of the data" in r.err
    assert "['age', 'sex', 'risk']" in r.err


def test_evaluate_slice_typo_is_refused_before_the_model_is_looked_at(home: str) -> None:
    r = run_falaj(
        "--home", home, "train", "evaluate", "no-such-model", "1", "--dataset", "rows",
        "--target", "risk", "--slice", "agee",
    )  # fmt: skip
    assert r.code != 0
    assert "--slice 'agee' is not a column of the data" in r.err
