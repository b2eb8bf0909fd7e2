from __future__ import annotations

import optuna
import pytest

from falaj.training.errors import SearchSpaceError
from falaj.training.space import SearchSpace

SPACE = {
    "n_estimators": {"type": "int", "low": 50, "high": 300, "step": 50},
    "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
    "reg_lambda": {"type": "log", "low": 0.001, "high": 10},
    "max_depth": {"type": "categorical", "choices": [3, 5, None]},
}


def test_space_draws_each_declared_type_within_its_bounds() -> None:
    space = SearchSpace.from_dict(SPACE)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        values = space.suggest(trial)
        assert values["n_estimators"] in range(50, 301, 50)
        assert 0.01 <= values["learning_rate"] <= 0.3
        assert 0.001 <= values["reg_lambda"] <= 10
        assert values["max_depth"] in (3, 5, None)
        study.tell(trial, 0.0)
    dists = study.trials[0].distributions
    assert dists["learning_rate"].log and dists["reg_lambda"].log
    assert dists["n_estimators"].step == 50


def test_space_round_trips_through_its_dict_form() -> None:
    space = SearchSpace.from_dict(SPACE)
    assert SearchSpace.from_dict(space.as_dict()) == space


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"x": {"type": "int", "low": 5, "high": 1}}, "low=5.0 is above high=1.0"),
        ({"x": {"type": "int", "low": 0.5, "high": 2}}, "must be integers"),
        ({"x": {"type": "float", "low": 0, "high": 1, "log": True, "step": 0.1}}, "log"),
        ({"x": {"type": "categorical", "choices": []}}, "non-empty list"),
        ({"x": {"type": "categorical", "choices": [{"a": 1}]}}, "is not a number"),
        ({"x": {"type": "float", "low": "a", "high": 1}}, "low='a' is not a number"),
        ({"x": {"type": "int", "low": 1, "high": 2, "choices": [1]}}, "unexpected field"),
        ({"x": 3}, "expected a mapping"),
        ({}, "non-empty mapping"),
    ],
)
def test_malformed_declarations_name_parameter_and_field(spec, message) -> None:
    with pytest.raises(SearchSpaceError, match="'x'" if spec else "search space") as info:
        SearchSpace.from_dict(spec)
    assert message in str(info.value)
