"""Trials run as Ray tasks against the study shared through the metadata database."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from falaj.training.hpo import run_search
from falaj.training.spec import SearchSpec
from falaj.training.studies import load_study
from falaj.workspace import Workspace


@pytest.fixture(scope="module")
def ray_runtime() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_ray_tasks_run_the_trials_of_one_study(ray_runtime: Any, ws: Workspace) -> None:
    rng = np.random.default_rng(4)
    X = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    y = (X["a"] - X["b"] + rng.normal(0, 0.5, 120) > 0).astype(int)
    spec = SearchSpec.from_dict(
        {
            "family": "sklearn.logistic_regression",
            "space": {"C": {"type": "log", "low": 0.01, "high": 10.0}},
            "budget": {"max_trials": 6},
            "cv_folds": 2,
            "parallel": {"n_jobs": 2, "executor": "ray"},
            "refit": False,
        }
    )
    opener = functools.partial(Workspace.open, settings=ws.settings, principal=ws.principal)
    result = run_search(ws, spec, X, y, experiment="ray-hpo", opener=opener)
    assert result.stop_reason == "max_trials"
    study = load_study(ws.settings.metadata_url, result.study_name)
    ran = [t for t in study.get_trials() if not t.user_attrs.get("falaj_skipped")]
    assert len(ran) == 6
    pids = {int(t.user_attrs["worker"].rsplit(":", 1)[1]) for t in ran}
    assert os.getpid() not in pids  # every trial ran in a Ray worker process
    for trial in ran:
        assert ws.tracking.get_run(trial.user_attrs["run_id"]).parent_id == result.parent_run_id
