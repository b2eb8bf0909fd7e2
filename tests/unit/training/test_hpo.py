from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from falaj.training.budget import Budget
from falaj.training.errors import SearchSpaceError, UnknownEstimatorError
from falaj.training.hpo import run_search
from falaj.training.spec import SearchSpec
from falaj.training.studies import load_study


@pytest.fixture
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    n = 160
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "color": rng.choice(["red", "green", "blue"], n),
        }
    )
    logits = 1.5 * X["a"] - X["b"] + (X["color"] == "red") * 0.8
    y = pd.Series((logits + rng.normal(0, 0.7, n) > 0).astype(int))
    return X, y


def spec(refit: bool = False, **budget: float) -> SearchSpec:
    return SearchSpec.from_dict(
        {
            "family": "sklearn.logistic_regression",
            "refit": refit,
            "space": {"C": {"type": "log", "low": 0.01, "high": 10.0}},
            "budget": budget,
            "cv_folds": 2,
            "pruner": {"n_startup_trials": 2},
        }
    )


@pytest.mark.slow
def test_max_trials_stops_the_search_with_exact_count(ws, data) -> None:
    X, y = data
    result = run_search(ws, spec(max_trials=4), X, y, experiment="hpo")
    assert result.stop_reason == "max_trials"
    assert sum(result.trials.values()) == 4
    study = load_study(ws.settings.metadata_url, result.study_name)
    assert study.user_attrs["stop_reason"] == "max_trials"
    assert ws.tracking.get_run(result.parent_run_id).tags["stop_reason"] == "max_trials"


@pytest.mark.slow
def test_wall_time_budget_stops_the_search(ws, data) -> None:
    X, y = data
    result = run_search(ws, spec(max_trials=10_000, wall_time_s=1.5), X, y, experiment="hpo")
    assert result.stop_reason == "wall_time"
    assert 1 <= sum(result.trials.values()) < 10_000


@pytest.mark.slow
def test_cpu_budget_stops_the_search_once_trials_spent_it(ws, data) -> None:
    X, y = data
    result = run_search(ws, spec(max_trials=10_000, cpu_seconds=0.4), X, y, experiment="hpo")
    assert result.stop_reason == "cpu_budget"
    study = load_study(ws.settings.metadata_url, result.study_name)
    cpu = [t.user_attrs["cpu_seconds"] for t in study.get_trials()]
    assert sum(cpu) >= 0.4
    assert sum(cpu[:-1]) < 0.4  # it stopped right after the trial that spent the budget
    assert result.cpu_seconds == pytest.approx(sum(cpu))


@pytest.mark.slow
def test_each_trial_is_a_child_run_of_the_search(ws, data) -> None:
    X, y = data
    result = run_search(ws, spec(max_trials=3), X, y, experiment="hpo")
    study = load_study(ws.settings.metadata_url, result.study_name)
    for trial in study.get_trials():
        run = ws.tracking.get_run(trial.user_attrs["run_id"])
        assert run.parent_id == result.parent_run_id
        assert run.tags["optuna.trial"] == str(trial.number)
        assert run.params["C"] == str(trial.params["C"])
        if trial.state.name == "COMPLETE":
            assert run.status == "FINISHED"
            assert run.metrics["roc_auc"] == pytest.approx(trial.value)


@pytest.mark.slow
def test_best_model_is_refit_and_logged_on_the_parent(ws, data) -> None:
    X, y = data
    result = run_search(ws, spec(refit=True, max_trials=3), X, y, experiment="hpo")
    assert result.model is not None and result.model.run_id == result.parent_run_id
    loaded = ws.tracking.load_model(result.model)
    np.testing.assert_array_equal(loaded.predict(X), result.estimator.predict(X))
    parent = ws.tracking.get_run(result.parent_run_id)
    assert parent.metrics["best_roc_auc"] == pytest.approx(result.best_value)


@pytest.mark.slow
def test_threaded_trials_respect_max_trials_exactly(ws, data) -> None:
    X, y = data
    s = SearchSpec.from_dict({**spec(max_trials=5).as_dict(), "parallel": {"n_jobs": 2}})
    result = run_search(ws, s, X, y, experiment="hpo")
    assert result.stop_reason == "max_trials"
    assert sum(result.trials.values()) == 5


@pytest.mark.slow
def test_poor_trials_are_pruned_and_their_runs_killed(ws) -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x": rng.normal(size=200), "z": rng.normal(size=200)})
    y = 3 * X["x"] + rng.normal(0, 0.1, 200)
    s = SearchSpec.from_dict(
        {
            "family": "sklearn.ridge",
            "task": "regression",
            "metric": "rmse",
            "space": {"alpha": {"type": "log", "low": 1e-3, "high": 1e5}},
            "budget": {"max_trials": 12},
            "cv_folds": 3,
            "pruner": {"n_startup_trials": 1},
            "refit": False,
        }
    )
    result = run_search(ws, s, X, y, experiment="hpo")
    assert result.trials.get("PRUNED", 0) >= 1
    study = load_study(ws.settings.metadata_url, result.study_name)
    pruned = [t for t in study.get_trials() if t.state.name == "PRUNED"]
    run = ws.tracking.get_run(pruned[0].user_attrs["run_id"])
    assert run.status == "KILLED"
    assert run.tags["trial_state"] == "PRUNED"


def test_space_declaration_errors_name_the_parameter() -> None:
    with pytest.raises(SearchSpaceError, match=r"'C'.*low"):
        SearchSpec.from_dict(
            {
                "family": "sklearn.logistic_regression",
                "budget": {"max_trials": 1},
                "space": {"C": {"type": "log", "low": 0, "high": 1}},
            }
        )


def test_unknown_family_is_refused() -> None:
    with pytest.raises(SearchSpaceError, match="'catboost'"):
        SearchSpec.from_dict(
            {
                "family": "catboost",
                "budget": {"max_trials": 1},
                "space": {"depth": {"type": "int", "low": 1, "high": 3}},
            }
        )


def test_empty_budget_is_refused() -> None:
    with pytest.raises(SearchSpaceError, match="budget is empty"):
        Budget()


def test_metric_must_fit_the_task() -> None:
    with pytest.raises(SearchSpaceError, match="'rmse'"):
        SearchSpec.from_dict(
            {
                "family": "lightgbm",
                "metric": "rmse",
                "budget": {"max_trials": 1},
                "space": {"num_leaves": {"type": "int", "low": 4, "high": 8}},
            }
        )


def test_parameter_the_estimator_lacks_is_refused_before_any_run(ws, data) -> None:
    X, y = data
    bad = SearchSpec.from_dict(
        {
            "family": "sklearn.logistic_regression",
            "space": {"C": {"type": "log", "low": 0.01, "high": 10.0}},
            "fixed_params": {"max_iters": 50},
            "budget": {"max_trials": 2},
        }
    )
    with pytest.raises(UnknownEstimatorError, match=r"\['max_iters'\] are not parameters of"):
        run_search(ws, bad, X, y, experiment="typo")
    assert "typo" not in [e.name for e in ws.tracking.list_experiments()]


def test_lightgbm_keyword_arguments_are_left_to_lightgbm() -> None:
    from falaj.training.estimators import check_params

    check_params("lightgbm", "classification", ["num_leaves", "min_data_in_leaf"])


def test_gpu_request_for_cpu_only_family_is_refused(data) -> None:
    from falaj.training.estimators import build_pipeline

    X, _ = data
    with pytest.raises(UnknownEstimatorError, match="cannot train on a GPU"):
        build_pipeline("sklearn.random_forest", "classification", {}, X, device="cuda")


def test_xgboost_stays_on_cpu_without_a_visible_cuda_device(monkeypatch, data) -> None:
    from falaj.training import estimators

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    estimators.cuda_device_count.cache_clear()
    X, _ = data
    pipe = estimators.build_pipeline("xgboost", "classification", {}, X, device="auto")
    assert pipe.named_steps["model"].get_params()["device"] == (
        "cuda" if estimators.cuda_device_count() > 0 else "cpu"
    )
    estimators.cuda_device_count.cache_clear()


def test_xgboost_search_trains_on_the_visible_gpu(ws, data) -> None:
    from falaj.training.estimators import cuda_device_count

    if cuda_device_count() == 0:
        pytest.skip("no CUDA device visible (the CPU path is covered above)")
    X, y = data
    s = SearchSpec.from_dict(
        {
            "family": "xgboost",
            "space": {"max_depth": {"type": "int", "low": 2, "high": 4}},
            "fixed_params": {"n_estimators": 20},
            "budget": {"max_trials": 2},
            "cv_folds": 2,
        }
    )
    result = run_search(ws, s, X, y, experiment="gpu")
    assert result.estimator.named_steps["model"].get_params()["device"] == "cuda"
    assert result.trials == {"COMPLETE": 2}


@pytest.mark.parametrize(
    ("family", "space"),
    [
        (
            "lightgbm",
            {
                "num_leaves": {"type": "categorical", "choices": [4, 8]},
                "learning_rate": {"type": "log", "low": 0.05, "high": 0.3},
            },
        ),
        (
            "xgboost",
            {
                "max_depth": {"type": "int", "low": 2, "high": 4},
                "subsample": {"type": "float", "low": 0.6, "high": 1.0},
            },
        ),
    ],
)
@pytest.mark.slow
def test_lightgbm_and_xgboost_pipelines_are_searched_and_logged(ws, data, family, space) -> None:
    X, y = data
    s = SearchSpec.from_dict(
        {
            "family": family,
            "space": space,
            "fixed_params": {"n_estimators": 15, "n_jobs": 1},
            "budget": {"max_trials": 2},
            "cv_folds": 2,
            "device": "cpu",
            "trusted_model": True,  # the sklearn flavor's allow-list has no LightGBM/XGBoost
        }
    )
    result = run_search(ws, s, X, y, experiment=family)
    assert result.trials == {"COMPLETE": 2}
    assert set(result.best_params) == set(space)
    loaded = ws.tracking.load_model(result.model, trusted=True)
    np.testing.assert_allclose(
        loaded.predict_proba(X)[:, 1], result.estimator.predict_proba(X)[:, 1], rtol=1e-6
    )


@pytest.mark.parametrize("value", ["no", "false", 0, 1, None])
def test_trusted_model_must_be_a_real_boolean(value: object) -> None:
    with pytest.raises(SearchSpaceError, match="trusted_model"):
        SearchSpec.from_dict(
            {
                "family": "sklearn.logistic_regression",
                "space": {"C": {"type": "log", "low": 0.01, "high": 10}},
                "budget": {"max_trials": 1},
                "trusted_model": value,
            }
        )
