"""Two worker processes share one Optuna study stored in PostgreSQL (the metadata database)."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from falaj.training.hpo import run_search
from falaj.training.spec import SearchSpec
from falaj.training.studies import load_study
from falaj.workspace import Workspace


def test_two_processes_share_one_study_on_postgresql(pg_url, tmp_path, alice) -> None:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    y = (X["a"] + rng.normal(0, 0.5, 120) > 0).astype(int)
    spec = SearchSpec.from_dict(
        {
            "family": "sklearn.logistic_regression",
            "space": {"C": {"type": "log", "low": 0.01, "high": 10.0}},
            "budget": {"max_trials": 12},
            "cv_folds": 2,
            "parallel": {"n_jobs": 2, "executor": "processes"},
            "refit": False,
        }
    )
    with Workspace.init(tmp_path / "ws", principal=alice, db_url=pg_url) as ws:
        opener = functools.partial(Workspace.open, settings=ws.settings, principal=alice)
        seen: list[int] = []
        result = run_search(
            ws, spec, X, y, experiment="shared", opener=opener,
            progress=lambda done, best: seen.append(done),
        )  # fmt: skip
        study = load_study(ws.settings.metadata_url, result.study_name)
        ran = [t for t in study.get_trials() if not t.user_attrs.get("falaj_skipped")]
        workers = {t.user_attrs["worker"] for t in ran}
        assert len(ran) == 12
        assert result.stop_reason == "max_trials"
        assert len(workers) == 2  # both processes ran trials of the one study
        for trial in ran:
            run = ws.tracking.get_run(trial.user_attrs["run_id"])
            assert run.parent_id == result.parent_run_id
        assert study.user_attrs["parent_run_id"] == result.parent_run_id
        assert seen and seen == sorted(seen) and seen[-1] <= 12  # polled while workers ran
