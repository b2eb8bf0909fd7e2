"""Search spaces declared as data (a dict, or YAML), turned into Optuna suggestions.

Each parameter is one mapping::

    n_estimators:  {type: int, low: 50, high: 400, step: 50}
    learning_rate: {type: float, low: 0.01, high: 0.3, log: true}
    reg_lambda:    {type: log, low: 1.0e-3, high: 10}          # float on a log scale
    max_depth:     {type: categorical, choices: [3, 5, null]}

A malformed declaration raises :class:`SearchSpaceError` naming the parameter and the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from falaj.errors import preview
from falaj.training.errors import SearchSpaceError

__all__ = ["Param", "SearchSpace"]

ParamType = Literal["int", "float", "categorical"]
_TYPES = ("int", "float", "log", "categorical")


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        """The value an Optuna ``trial`` draws for this parameter."""
        if self.type == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        assert self.low is not None and self.high is not None
        if self.type == "int":
            step = int(self.step) if self.step is not None else 1
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), step=step, log=self.log
            )
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def as_dict(self) -> dict[str, Any]:
        if self.type == "categorical":
            return {"type": "categorical", "choices": list(self.choices)}
        out: dict[str, Any] = {"type": self.type, "low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return out


@dataclass(frozen=True)
class SearchSpace:
    params: tuple[Param, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSpace:
        if not isinstance(data, Mapping) or not data:
            raise SearchSpaceError(
                f"search space is {preview(data)}: expected a non-empty mapping of parameter "
                "name to {type: int|float|log|categorical, ...}"
            )
        return cls(tuple(_parse_param(str(name), spec) for name, spec in data.items()))

    def suggest(self, trial: Any) -> dict[str, Any]:
        return {p.name: p.suggest(trial) for p in self.params}

    def as_dict(self) -> dict[str, Any]:
        return {p.name: p.as_dict() for p in self.params}

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]


def _number(name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SearchSpaceError(f"search space parameter {name!r}: {key}={value!r} is not a number")
    return float(value)


def _parse_param(name: str, spec: Any) -> Param:
    if not isinstance(spec, Mapping):
        raise SearchSpaceError(
            f"search space parameter {name!r} is {preview(spec)}: expected a mapping with a 'type'"
        )
    kind = spec.get("type")
    if kind not in _TYPES:
        raise SearchSpaceError(
            f"search space parameter {name!r}: type={kind!r} is unknown, expected one of {_TYPES}"
        )
    allowed = (
        {"type", "choices"} if kind == "categorical" else {"type", "low", "high", "log", "step"}
    )
    extra = sorted(set(spec) - allowed)
    if extra:
        raise SearchSpaceError(
            f"search space parameter {name!r}: unexpected field(s) {extra} for type {kind!r}"
        )
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list | tuple) or not choices:
            raise SearchSpaceError(
                f"search space parameter {name!r}: choices={preview(choices)}, expected a "
                "non-empty list"
            )
        for c in choices:
            if c is not None and not isinstance(c, bool | int | float | str):
                raise SearchSpaceError(
                    f"search space parameter {name!r}: choice {preview(c)} is not a number, "
                    "string, bool or null"
                )
        return Param(name, "categorical", choices=tuple(choices))
    low = _number(name, "low", spec.get("low"))
    high = _number(name, "high", spec.get("high"))
    if low > high:
        raise SearchSpaceError(f"search space parameter {name!r}: low={low} is above high={high}")
    log = bool(spec.get("log", False)) or kind == "log"
    if log and low <= 0:
        raise SearchSpaceError(
            f"search space parameter {name!r}: low={low} must be positive on a log scale"
        )
    step = spec.get("step")
    if step is not None:
        step = _number(name, "step", step)
        if step <= 0 or log:
            raise SearchSpaceError(
                f"search space parameter {name!r}: step={step} must be positive and cannot be "
                "combined with a log scale"
            )
    if kind == "int" and (low != int(low) or high != int(high)):
        raise SearchSpaceError(
            f"search space parameter {name!r}: int bounds low={low}, high={high} must be integers"
        )
    return Param(name, "int" if kind == "int" else "float", low, high, log, step)
