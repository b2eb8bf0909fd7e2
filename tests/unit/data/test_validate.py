"""Each expectation kind, passing and failing, run through pandera."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from falaj.data.expectations import Suite
from falaj.data.validate import run_suite

NOW = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "amount": [10.0, 20.5, 30.0, 0.0],
            "purpose": ["car", "home", "car", "home"],
            "email": ["a@x.om", "b@x.om", "c@x.om", "d@x.om"],
            "start": [1, 2, 3, 4],
            "end": [2, 2, 5, 9],
            "opened": pd.to_datetime(["2026-01-08", "2026-01-09", "2026-01-09", "2026-01-09"]),
        }
    )


CASES: list[tuple[str, dict[str, Any], str, Any, list[int]]] = [
    # (name, suite, failing check, bad value, failing rows after the corruption)
    ("type", {"columns": {"amount": {"type": "float"}}}, "amount.type", "lots", [1]),
    ("int type", {"columns": {"id": {"type": "int"}}}, "id.type", 2.5, [1]),
    ("nullable", {"columns": {"purpose": {"nullable": False}}}, "purpose.not_null", None, [1]),
    ("min", {"columns": {"amount": {"min": 0}}}, "amount.min", -1.0, [1]),
    ("max", {"columns": {"amount": {"max": 100}}}, "amount.max", 1e6, [1]),
    ("in", {"columns": {"purpose": {"in": ["car", "home"]}}}, "purpose.in", "yacht", [1]),
    ("unique", {"columns": {"email": {"unique": True}}}, "email.unique", "a@x.om", [1]),
    ("regex", {"columns": {"email": {"regex": "^[^@]+@[^@]+$"}}}, "email.regex", "nope", [1]),
]


@pytest.mark.parametrize(("kind", "spec", "check", "bad", "rows"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.slow
def test_column_expectation_passes_on_good_data_and_fails_on_a_bad_value(
    kind: str, spec: dict[str, Any], check: str, bad: Any, rows: list[int]
) -> None:
    suite = Suite.from_dict({"suite": kind, **spec})
    good = run_suite(_frame(), suite, now=NOW)
    assert good.success, good.failures
    column = check.split(".")[0]
    frame = _frame().astype({column: object})
    frame.loc[1, column] = bad
    report = run_suite(frame, suite, now=NOW)
    (failure,) = report.failures
    assert failure.check == check
    assert failure.failed_rows == len(rows)
    assert sorted(report.row_reasons) == rows
    if bad is not None:
        assert bad in failure.examples


def test_cross_column_check_fails_the_rows_that_break_it() -> None:
    suite = Suite.from_dict({"checks": [{"name": "ordered", "expr": "end >= start"}]})
    assert run_suite(_frame(), suite, now=NOW).success
    frame = _frame()
    frame.loc[2, "end"] = 0
    report = run_suite(frame, suite, now=NOW)
    (failure,) = report.failures
    assert failure.check == "check.ordered" and failure.failed_rows == 1
    assert failure.examples == [{"end": 0, "start": 3}]
    assert list(report.row_reasons) == [2]


def test_row_count_range_is_a_dataset_level_check() -> None:
    suite = Suite.from_dict({"row_count": {"min": 2, "max": 4}})
    assert run_suite(_frame(), suite, now=NOW).success
    report = run_suite(_frame().head(1), suite, now=NOW)
    (failure,) = report.failures
    assert failure.check == "row_count" and not failure.row_level
    assert failure.examples == [1]
    assert report.row_reasons == {}


def test_freshness_fails_when_the_newest_timestamp_is_too_old() -> None:
    suite = Suite.from_dict({"freshness": {"column": "opened", "max_age": "2d"}})
    assert run_suite(_frame(), suite, now=NOW).success
    report = run_suite(_frame(), suite, now=NOW + dt.timedelta(days=5))
    (failure,) = report.failures
    assert failure.check == "freshness" and "6 days" in failure.examples[0]


def test_missing_required_column_and_strict_extra_column_are_reported() -> None:
    suite = Suite.from_dict({"strict": True, "columns": {"id": {}, "amount": {}, "ghost": {}}})
    report = run_suite(_frame()[["id", "amount", "purpose"]], suite, now=NOW)
    failed = {c.check: c for c in report.failures}
    assert set(failed) == {"ghost.required", "strict"}
    assert failed["strict"].examples == ["purpose"]


def test_every_failure_is_collected_in_one_run() -> None:
    suite = Suite.from_dict({"columns": {"amount": {"min": 0}, "purpose": {"in": ["car", "home"]}}})
    frame = _frame()
    frame.loc[0, "amount"] = -5.0
    frame.loc[3, "purpose"] = "boat"
    report = run_suite(frame, suite, now=NOW)
    assert {c.check for c in report.failures} == {"amount.min", "purpose.in"}
    assert sorted(report.row_reasons) == [0, 3]
    assert [(c.check, c.passed) for c in report.checks] == [
        ("amount.min", False),
        ("amount.required", True),
        ("purpose.in", False),
        ("purpose.required", True),
    ]


def test_integral_numbers_of_any_kind_pass_int_and_booleans_do_not() -> None:
    import numpy as np

    frame = pd.DataFrame({"n": pd.Series([np.int64(3), 4, np.float64(2.0), True], dtype=object)})
    report = run_suite(frame, Suite.from_dict({"columns": {"n": {"type": "int"}}}), now=NOW)
    (failure,) = report.failures
    assert failure.check == "n.type" and list(report.row_reasons) == [3]


def test_a_check_that_cannot_be_evaluated_fails_the_dataset_not_zero_rows() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    suite = Suite.from_dict({"checks": [{"name": "b_positive", "expr": "b > 1"}]})
    report = run_suite(frame, suite)
    (failure,) = report.failures
    assert failure.check == "check.b_positive"
    assert failure.row_level is False  # no row can be cleared, so quarantine cannot fix it
    assert failure.examples[0].startswith("could not be evaluated: TypeError(")
    assert report.row_reasons == {}


def test_freshness_on_a_column_without_dates_says_so() -> None:
    frame = pd.DataFrame({"opened": ["soon", "later"]})
    suite = Suite.from_dict({"freshness": {"column": "opened", "max_age": "2d"}})
    (failure,) = run_suite(frame, suite, now=NOW).failures
    assert failure.check == "freshness"
    assert failure.examples == ["column opened has no date or time values"]
