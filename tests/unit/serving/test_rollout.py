from __future__ import annotations

import datetime as dt

import pytest

from falaj.errors import InvalidInputError
from falaj.serving.rollout import RolloutPolicy, decide, parse_steps
from falaj.serving.stats import Summary

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
POLICY = RolloutPolicy(window_s=300, min_requests=100)
STEPS = (5.0, 25.0, 50.0, 100.0)
SKETCH = {"p:0.1": 500, "p:0.5": 300, "p:0.9": 200}


def _summary(
    requests: int, errors: int = 0, p99: float = 5.0, sketch: dict[str, int] | None = None
) -> Summary:
    shares = sketch or SKETCH
    total = sum(shares.values())
    return Summary(
        requests,
        errors,
        p50_ms=1.0,
        p99_ms=p99,
        predictions={k: v * requests // total for k, v in shares.items()},
    )


def _decide(canary: Summary, *, at_s: float = 301, step: int = 0, **kw: object) -> object:
    return decide(
        policy=POLICY,
        steps=STEPS,
        step_index=step,
        step_started_at=T0,
        now=T0 + dt.timedelta(seconds=at_s),
        canary=canary,
        stable=_summary(2000),
        **kw,  # type: ignore[arg-type]
    )


def test_waits_while_the_window_is_open() -> None:
    d = _decide(_summary(500), at_s=100)
    assert d.action == "wait" and "window open" in d.reason  # type: ignore[attr-defined]


def test_waits_for_enough_canary_traffic_after_the_window() -> None:
    d = _decide(_summary(40))
    assert d.action == "wait" and "40 of 100" in d.reason  # type: ignore[attr-defined]


def test_advances_to_the_next_step_when_every_check_passes() -> None:
    d = _decide(_summary(200))
    assert d.action == "advance" and d.next_weight == 25.0 and d.step_index == 1  # type: ignore[attr-defined]
    assert {c.name for c in d.checks} == {"error_rate", "latency_p99_ms", "prediction_psi"}  # type: ignore[attr-defined]
    assert all(c.passed for c in d.checks)  # type: ignore[attr-defined]


def test_promotes_after_the_last_step() -> None:
    d = _decide(_summary(200), step=3)
    assert d.action == "promote" and d.next_weight == 100.0  # type: ignore[attr-defined]


def test_rolls_back_at_once_on_errors_even_inside_the_window() -> None:
    d = _decide(_summary(200, errors=10), at_s=10)
    assert d.action == "rollback" and "error_rate" in d.reason  # type: ignore[attr-defined]
    assert d.evidence["canary"]["errors"] == 10  # type: ignore[attr-defined]


def test_rolls_back_on_latency_beyond_ratio_and_slack() -> None:
    assert _decide(_summary(200, p99=9.0)).action == "advance"  # type: ignore[attr-defined]
    d = _decide(_summary(200, p99=25.0))
    assert d.action == "rollback" and "latency_p99_ms 25.0 > 10.0" in d.reason  # type: ignore[attr-defined]


def test_rolls_back_on_a_significant_prediction_shift() -> None:
    d = _decide(_summary(400, sketch={"p:0.9": 1000}))
    assert d.action == "rollback" and "prediction_psi" in d.reason  # type: ignore[attr-defined]


def test_accuracy_drop_counts_once_enough_labels_exist() -> None:
    few = _decide(_summary(200), canary_accuracy=(0.5, 10), stable_accuracy=(0.9, 10))
    assert few.action == "advance"  # type: ignore[attr-defined]
    d = _decide(_summary(200), canary_accuracy=(0.80, 300), stable_accuracy=(0.90, 300))
    assert d.action == "rollback" and "accuracy_drop" in d.reason  # type: ignore[attr-defined]


def test_steps_and_policies_are_validated() -> None:
    assert parse_steps("5, 25,50,100") == STEPS
    for bad, words in (
        ("5,x", "percentages"),
        ("50,25,100", "increasing"),
        ("5,50", "last step"),
        ("0,100", "(0, 100]"),
    ):
        with pytest.raises(InvalidInputError, match=words.replace("(", r"\(").replace("]", r"\]")):
            parse_steps(bad)
    with pytest.raises(InvalidInputError, match="min_requests"):
        RolloutPolicy(min_requests=0)
    with pytest.raises(InvalidInputError, match="'max_errors' is unknown"):
        RolloutPolicy.from_dict({"max_errors": 1})
    assert RolloutPolicy.from_dict(POLICY.to_dict()) == POLICY
