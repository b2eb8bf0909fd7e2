"""Anomalies of a registered batch, computed out of core, equal those of the loaded DataFrame."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from falaj.data.anomalies import AnomalyReport, detect
from falaj.workspace import Workspace


def _reference(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.normal(100.0, 15.0, rows),
            "count": rng.integers(0, 50, rows),
            "city": rng.choice(["Muscat", "Sohar", "Nizwa", "Sur"], rows, p=[0.4, 0.3, 0.2, 0.1]),
            "flag": rng.random(rows) < 0.3,
            "gone": rng.random(rows),
            "kind": rng.choice(["a", "b"], rows),
        }
    )


def _shifted(rows: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.normal(130.0, 25.0, rows),  # shift, out of range values
            "count": rng.integers(0, 50, rows).astype(float),
            "city": rng.choice(["Muscat", "Sohar", "Salalah", "Sur"], rows),  # unseen value
            "flag": rng.random(rows) < 0.6,
            "kind": rng.integers(0, 3, rows),  # type change
            "extra": rng.random(rows),  # new column
        }
    )
    frame.loc[frame.sample(frac=0.2, random_state=seed).index, "count"] = np.nan  # nulls rise
    frame.loc[frame.sample(frac=0.1, random_state=seed + 1).index, "city"] = None
    return frame


def _same(a: AnomalyReport, b: AnomalyReport) -> None:
    assert [f.as_dict() for f in a.findings] == [f.as_dict() for f in b.findings]
    assert (a.reference_rows, a.batch_rows) == (b.reference_rows, b.batch_rows)
    assert a.metrics.keys() == b.metrics.keys()
    for column, values in a.metrics.items():
        assert values == pytest.approx(b.metrics[column], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("batch_maker", [_shifted, lambda rows: _reference(rows, seed=7)])
def test_out_of_core_report_equals_the_dataframe_report(ws: Workspace, batch_maker: object) -> None:
    ws.datasets.register("orders", _reference(5_000))
    batch = batch_maker(3_000)  # type: ignore[operator]
    version = ws.datasets.register("orders_batch", batch)
    streamed = ws.datasets.detect_anomalies(version.id, "orders")
    in_memory = detect(
        ws.datasets.profile("orders"), ws.datasets.load(version.id), reference_id="orders@1"
    )
    _same(streamed, in_memory)
    if batch_maker is _shifted:
        kinds = {(f.column, f.kind) for f in streamed.findings}
        assert {
            ("amount", "distribution_shift"),
            ("amount", "out_of_range"),
            ("city", "unseen_categories"),
            ("count", "null_rate"),
            ("kind", "type_change"),
            ("extra", "new_column"),
            ("gone", "missing_column"),
        } <= kinds


def test_a_registered_batch_is_compared_without_loading_it(ws: Workspace) -> None:
    rows = 400_000
    ws.datasets.register("big", _reference(rows))
    version = ws.datasets.register("big_batch", _shifted(rows))
    frame_bytes = int(ws.datasets.load(version.id).memory_usage(deep=True).sum())
    tracemalloc.start()
    try:
        report = ws.datasets.detect_anomalies(version.id, "big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.batch_rows == rows
    assert peak < frame_bytes / 4, (peak, frame_bytes)
