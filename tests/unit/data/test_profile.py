from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from falaj.data.profile import Profile, profile_parquet, profile_table


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    amount = rng.normal(50, 10, 5000)
    amount[:250] = np.nan
    return pd.DataFrame(
        {
            "amount": amount,
            "count": rng.integers(0, 10, 5000),
            "city": rng.choice(["a", "b", "c"], 5000, p=[0.6, 0.3, 0.1]),
            "flag": rng.choice([True, False], 5000),
            "when": pd.date_range("2024-01-01", periods=5000, freq="h"),
        }
    )


def _profile() -> Profile:
    return profile_table(pa.Table.from_pandas(_frame(), preserve_index=False))


def test_numeric_statistics_match_numpy() -> None:
    frame, amount = _frame(), _profile().columns["amount"]
    values = frame["amount"].dropna().to_numpy()
    assert amount.kind == "numeric"
    assert amount.null_count == 250 and amount.null_rate == pytest.approx(0.05)
    assert amount.min == pytest.approx(values.min()) and amount.max == pytest.approx(values.max())
    assert amount.mean == pytest.approx(values.mean())
    assert amount.std == pytest.approx(values.std(ddof=1))
    assert amount.quantiles["0.25"] == pytest.approx(np.quantile(values, 0.25))
    assert amount.distinct_count == 4750 and amount.distinct_exact


def test_histogram_counts_every_non_null_value_once() -> None:
    frame, amount = _frame(), _profile().columns["amount"]
    assert amount.histogram is not None
    assert len(amount.histogram.edges) == len(amount.histogram.counts) + 1 == 21
    assert sum(amount.histogram.counts) == 4750
    expected, _ = np.histogram(frame["amount"].dropna(), bins=np.asarray(amount.histogram.edges))
    assert amount.histogram.counts == expected.tolist()


def test_categories_booleans_and_timestamps() -> None:
    profile = _profile()
    city, flag, when = profile.columns["city"], profile.columns["flag"], profile.columns["when"]
    assert [v for v, _ in city.top] == ["a", "b", "c"] and city.top_complete
    assert sum(n for _, n in city.top) == 5000 and city.distinct_count == 3
    assert city.frequencies()["a"] == pytest.approx(city.top[0][1] / 5000)
    assert flag.kind == "boolean" and {v for v, _ in flag.top} == {True, False}
    assert when.kind == "temporal" and when.min == "2024-01-01 00:00:00"


def test_parquet_and_in_memory_profiles_agree(tmp_path: Path) -> None:
    table = pa.Table.from_pandas(_frame(), preserve_index=False)
    pq.write_table(table, tmp_path / "p.parquet", row_group_size=700)
    from_file = profile_parquet(tmp_path / "p.parquet")
    in_memory = profile_table(table)
    a, b = from_file.columns["amount"], in_memory.columns["amount"]
    assert a.quantiles == pytest.approx(b.quantiles)
    assert a.mean == pytest.approx(b.mean) and a.null_count == b.null_count
    assert a.histogram == b.histogram
    assert from_file.columns["city"].top == in_memory.columns["city"].top


def test_profile_survives_a_json_round_trip() -> None:
    profile = _profile()
    assert Profile.from_json(profile.to_json()) == Profile.from_json(profile.to_json())
    again = Profile.from_json(profile.to_json())
    assert again.columns["amount"].histogram == profile.columns["amount"].histogram
    assert again.columns["city"].top == profile.columns["city"].top


def test_high_cardinality_text_keeps_only_the_top_values() -> None:
    frame = pd.DataFrame({"id": [f"u{i}" for i in range(3000)]})
    column = profile_table(pa.Table.from_pandas(frame, preserve_index=False)).columns["id"]
    assert column.distinct_count == 3000 and not column.top_complete
    assert len(column.top) == 20


def test_infinite_values_profile_without_runtime_warnings() -> None:
    import warnings

    table = pa.Table.from_pandas(pd.DataFrame({"x": [1.5, np.inf, -np.inf, 0.0]}))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        column = profile_table(table).columns["x"]
    assert column.quantiles["0.5"] == 0.75
    assert column.quantiles["0.25"] == -np.inf and column.quantiles["0.75"] == np.inf


def test_large_files_take_quantiles_one_column_at_a_time_with_equal_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from falaj.data import profile as profiling

    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {"a": rng.normal(0, 1, 5000), "b": rng.integers(0, 99, 5000), "c": ["x", "y"] * 2500}
    )
    frame.loc[::7, "a"] = np.nan
    path = tmp_path / "p.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    one_pass = profiling.profile_parquet(path)
    monkeypatch.setattr(profiling, "QUANTILE_ONE_PASS_BYTES", 0)
    per_column = profiling.profile_parquet(path)
    # equal up to float summation order (DuckDB aggregates in parallel threads)
    _assert_close(dataclasses.asdict(per_column), dataclasses.asdict(one_pass))
    assert per_column.columns["a"].quantiles["0.5"] == pytest.approx(
        float(frame["a"].dropna().median())
    )


def _assert_close(a: object, b: object, where: str = "profile") -> None:
    if isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12, nan_ok=True), where
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_close(x, y, f"{where}[{i}]")
    else:
        assert a == b, where
