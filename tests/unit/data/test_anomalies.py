from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from falaj.data.anomalies import Thresholds, detect, psi
from falaj.data.profile import profile_table
from falaj.errors import InvalidInputError


def _batch(seed: int, rows: int = 2000, duration_shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.normal(3000, 800, rows),
            "duration": rng.normal(20, 5, rows) + duration_shift,
            "purpose": rng.choice(["car", "home", "education"], rows, p=[0.5, 0.3, 0.2]),
        }
    )


def _reference() -> tuple[pd.DataFrame, object]:
    frame = _batch(seed=1)
    return frame, profile_table(pa.Table.from_pandas(frame, preserve_index=False))


def test_a_shifted_column_is_flagged_and_an_unshifted_one_is_not() -> None:
    _, reference = _reference()
    report = detect(reference, _batch(seed=2, duration_shift=15.0))  # type: ignore[arg-type]
    assert report.flagged_columns == ["duration"]
    shift = [f for f in report.for_column("duration") if f.kind == "distribution_shift"]
    assert shift and shift[0].severity == "alert"
    assert "duration: distribution shifted" in shift[0].message
    assert report.metrics["amount"]["psi"] < 0.1
    assert report.for_column("amount") == []


def test_a_fresh_sample_of_the_same_distribution_has_no_findings() -> None:
    _, reference = _reference()
    report = detect(reference, _batch(seed=3))  # type: ignore[arg-type]
    assert report.ok, report.summary()


def test_null_spike_unseen_category_and_volume_are_reported_in_words() -> None:
    _, reference = _reference()
    batch = _batch(seed=4, rows=500)
    batch.loc[:99, "amount"] = np.nan
    batch.loc[100:149, "purpose"] = "crypto"
    report = detect(reference, batch, reference_id="loans@1")  # type: ignore[arg-type]
    kinds = {(f.column, f.kind) for f in report.findings}
    assert {("amount", "null_rate"), ("purpose", "unseen_categories"), (None, "volume")} <= kinds
    unseen = next(f for f in report.findings if f.kind == "unseen_categories")
    assert "'crypto' (50)" in unseen.message and "10.0% of rows" in unseen.message
    volume = next(f for f in report.findings if f.kind == "volume")
    assert "500 rows, 75% fewer than the reference's 2,000" in volume.message
    assert "loans@1" in report.summary()


def test_out_of_range_share_is_reported() -> None:
    _, reference = _reference()
    batch = _batch(seed=5)
    batch.loc[:59, "amount"] = -100.0
    report = detect(reference, batch)  # type: ignore[arg-type]
    found = [f for f in report.for_column("amount") if f.kind == "out_of_range"]
    assert found and "3.0% of values lie outside the reference range" in found[0].message


def test_thresholds_are_configurable() -> None:
    _, reference = _reference()
    batch = _batch(seed=6, duration_shift=1.5)
    strict = detect(reference, batch, thresholds=Thresholds(psi_warning=0.02))  # type: ignore[arg-type]
    lenient = detect(reference, batch, thresholds=Thresholds(psi_warning=5.0, psi_alert=9.0))  # type: ignore[arg-type]
    assert "duration" in strict.flagged_columns
    assert "duration" not in lenient.flagged_columns


def test_thresholds_may_be_a_dict_of_some_fields() -> None:
    _, reference = _reference()
    batch = _batch(seed=6, duration_shift=1.5)
    strict = detect(reference, batch, thresholds={"psi_warning": 0.02})  # type: ignore[arg-type]
    lenient = detect(reference, batch, thresholds={"psi_warning": 5.0, "psi_alert": 9.0})  # type: ignore[arg-type]
    assert "duration" in strict.flagged_columns
    assert "duration" not in lenient.flagged_columns


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"psi": 0.3}, r"unknown field\(s\) \['psi'\]"),
        ({"psi_alert": -1}, r"thresholds\['psi_alert'\] = -1 is invalid"),
        (0.3, "thresholds 0.3 is invalid: expected Thresholds"),
    ],
)
def test_malformed_thresholds_are_refused(thresholds: object, message: str) -> None:
    _, reference = _reference()
    with pytest.raises(InvalidInputError, match=message):
        detect(reference, _batch(seed=2), thresholds=thresholds)  # type: ignore[arg-type]


def test_a_batch_that_is_not_a_frame_or_has_no_columns_is_refused() -> None:
    _, reference = _reference()
    with pytest.raises(InvalidInputError, match="batch of type int is invalid"):
        detect(reference, 5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="the batch has no columns"):
        detect(reference, pd.DataFrame())  # type: ignore[arg-type]


def test_missing_column_is_an_alert() -> None:
    _, reference = _reference()
    report = detect(reference, _batch(seed=7).drop(columns=["purpose"]))  # type: ignore[arg-type]
    assert [(f.column, f.kind, f.severity) for f in report.findings] == [
        ("purpose", "missing_column", "alert")
    ]


@pytest.mark.slow
def test_isolation_forest_scores_rows_unlike_the_reference() -> None:
    frame, reference = _reference()
    batch = _batch(seed=8, rows=400)
    batch.loc[:79, ["amount", "duration"]] = [[40_000.0, 300.0]] * 80
    report = detect(reference, batch, reference_frame=frame)  # type: ignore[arg-type]
    outliers = [f for f in report.findings if f.kind == "outliers"]
    assert outliers and "IsolationForest" in outliers[0].message
    assert {row for row, _ in report.outlier_rows} <= set(range(80))


def test_psi_is_zero_for_identical_distributions_and_grows_with_shift() -> None:
    same = psi(np.array([10, 20, 30]), np.array([10, 20, 30]))
    small = psi(np.array([10, 20, 30]), np.array([12, 20, 28]))
    large = psi(np.array([10, 20, 30]), np.array([30, 20, 10]))
    assert same == 0.0 and 0 < small < large
