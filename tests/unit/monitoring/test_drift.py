"""Drift statistics from sketches agree with scipy on the raw data (hand-built, fixed seeds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from falaj.errors import InvalidInputError
from falaj.monitoring.drift import DriftConfig, compare
from falaj.monitoring.sketch import CurrentCounts, ReferenceSketch, build_sketch, count_current


def _frames(n: int = 5000) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame(
        {
            "a": rng.normal(0, 1, n),
            "b": rng.exponential(2.0, n),
            "c": rng.choice(["x", "y", "z"], n, p=[0.6, 0.3, 0.1]),
            "level": rng.integers(0, 4, n),
        }
    )
    cur = pd.DataFrame(
        {
            "a": rng.normal(0.5, 1, n),
            "b": rng.exponential(2.0, n),
            "c": rng.choice(["x", "y", "z", "new"], n, p=[0.3, 0.3, 0.3, 0.1]),
            "level": rng.integers(0, 4, n),
        }
    )
    return ref, cur


def test_ks_and_wasserstein_match_scipy_on_the_raw_columns() -> None:
    ref, cur = _frames()
    report = compare(count_current(build_sketch(ref, reference="r"), cur))
    for column in ("a", "b"):
        scores = report.features[column].scores
        exact = stats.ks_2samp(ref[column], cur[column]).statistic
        assert scores["ks"] == pytest.approx(exact, abs=2 / 512)
        w = stats.wasserstein_distance(ref[column], cur[column]) / ref[column].std(ddof=0)
        assert scores["wasserstein"] == pytest.approx(w, rel=0.05, abs=0.005)
    assert report.drifted_columns == ["a", "c"]
    assert report.features["level"].kind == "categorical"  # 4 levels: a categorical test


def test_categorical_statistics_match_scipy_and_count_unseen_categories() -> None:
    ref, cur = _frames()
    acc = count_current(build_sketch(ref, reference="r"), cur)["c"]
    assert acc.new_categories == int((cur["c"] == "new").sum())
    f = compare({"c": acc}).features["c"]
    r = ref["c"].value_counts().reindex(["x", "y", "z", "new"], fill_value=0).to_numpy()
    c = cur["c"].value_counts().reindex(["x", "y", "z", "new"], fill_value=0).to_numpy()
    assert f.scores["jensenshannon"] == pytest.approx(
        jensenshannon(r / r.sum(), c / c.sum(), base=2)
    )
    assert f.scores["chisquare"] == pytest.approx(
        stats.chi2_contingency(np.vstack([r, c]), correction=False)[0]
    )


def test_counting_in_chunks_equals_counting_at_once() -> None:
    ref, cur = _frames()
    sketch = build_sketch(ref, reference="r")
    whole = count_current(sketch, cur)
    parts = {c: CurrentCounts(sketch.columns[c]) for c in sketch.columns}
    for start in range(0, len(cur), 700):
        for c, acc in parts.items():
            acc.update(cur[c].iloc[start : start + 700])
    for c in sketch.columns:
        assert parts[c].counts.tolist() == whole[c].counts.tolist()
        assert parts[c].above_sum == pytest.approx(whole[c].above_sum)


def test_the_sketch_round_trips_through_bytes() -> None:
    ref, _ = _frames(500)
    sketch = build_sketch(ref, reference="r@1")
    again = ReferenceSketch.from_bytes(sketch.to_bytes())
    assert again.reference == "r@1" and again.rows == 500
    for name, col in sketch.columns.items():
        assert again.columns[name].edges.tolist() == col.edges.tolist()
        assert again.columns[name].counts.tolist() == col.counts.tolist()


def test_benjamini_hochberg_rejects_fewer_than_no_correction_and_more_than_bonferroni() -> None:
    rng = np.random.default_rng(5)
    n = 300
    ref = pd.DataFrame({f"x{i}": rng.normal(0, 1, n) for i in range(20)})
    cur = pd.DataFrame({f"x{i}": rng.normal(0.25 if i < 3 else 0.0, 1, n) for i in range(20)})
    counts = count_current(build_sketch(ref, reference="r"), cur)
    found = {
        mode: set(compare(counts, DriftConfig(correction=mode)).drifted_columns)
        for mode in ("none", "benjamini-hochberg", "bonferroni")
    }
    assert found["bonferroni"] <= found["benjamini-hochberg"] <= found["none"]
    assert {"x0", "x1", "x2"} & found["benjamini-hochberg"]
    assert all(f.test == "ks" for f in compare(counts).features.values())


def test_missing_values_are_counted_not_tested() -> None:
    ref = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0] * 100})
    cur = pd.DataFrame({"a": [np.nan, 2.0, np.nan, 4.0] * 100})
    f = compare(
        count_current(build_sketch(ref, reference="r", kinds={"a": "numeric"}), cur)
    ).features["a"]
    assert f.null_share == 0.5 and f.reference_null_share == 0.25


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 2}, "alpha 2"),
        ({"drift_share": 0}, "drift_share 0"),
        ({"correction": "holm"}, "correction 'holm'"),
        ({"tests": {"a": "t-test"}}, "test 't-test' for column 'a'"),
        ({"thresholds": {"ks": 0.1}}, "threshold for 'ks'"),
    ],
)
def test_bad_configuration_names_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        DriftConfig(**kwargs)  # type: ignore[arg-type]


def test_a_test_that_does_not_fit_the_column_type_is_refused() -> None:
    ref, cur = _frames(200)
    counts = count_current(build_sketch(ref, reference="r"), cur)
    with pytest.raises(InvalidInputError, match="does not apply to a categorical column"):
        compare(counts, DriftConfig(tests={"c": "ks"}))
