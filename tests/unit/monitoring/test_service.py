"""The prediction log, feedback, drift and performance against a real embedded workspace."""

from __future__ import annotations

import datetime as dt
import io
import json

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from falaj.monitoring import DriftConfig, UnknownRequestError
from falaj.workspace import Workspace
from tests.unit.monitoring.support import (
    FEATURES,
    MODEL,
    T0,
    frame,
    log_traffic,
    register_model,
    target,
)

pytestmark = pytest.mark.slow


def _partitions(ws: Workspace) -> list[tuple[str, int, int, dict[str, str]]]:
    with ws.store.read() as conn:
        rows = conn.execute(sa.text("SELECT digest, size, rows, masked FROM prediction_partitions"))
        return [(d, s, n, json.loads(m) if isinstance(m, str) else m) for d, s, n, m in rows]


def test_drift_is_flagged_on_the_shifted_columns_only(ws: Workspace) -> None:
    register_model(ws)
    log = ws.monitoring.prediction_log()
    log_traffic(ws, log, frame(1500, seed=2, shift={"spend": 15.0, "plan": 1.0}))
    outcome = ws.monitoring.drift(
        MODEL, "champion", since=dt.timedelta(hours=2), until=T0 + dt.timedelta(hours=1)
    )
    body = outcome.as_dict()
    assert body["rows"] == 1500
    assert body["reference"] == "customers@1"
    assert {c for c, f in body["features"].items() if f["drifted"]} == {"spend", "plan"}
    assert set(body["features"]) == {*FEATURES, "plan"}  # email is pii: hashed, never compared
    assert body["features"]["spend"]["test"] == "wasserstein"
    assert body["features"]["plan"]["test"] == "jensenshannon"
    assert body["prediction"]["drifted"] is True  # spend moves the predicted churn


def test_partitions_that_log_different_columns_are_compared_together(ws: Workspace) -> None:
    # Regression: a model server logs only the model's inputs while a batch job logs more
    # columns (here "plan"); drift over both raised KeyError 'input.plan' on the server's rows.
    register_model(ws)
    log = ws.monitoring.prediction_log()
    log_traffic(ws, log, frame(300, seed=2))  # inputs + plan + email
    served = frame(200, seed=3)
    loaded = ws.registry.load_model(MODEL, 1)
    proba = loaded.predict_proba(served[FEATURES])[:, 1]
    for i in range(len(served)):
        log.log(
            request_id=f"served-{i}", model=MODEL, version=1, deployment="churn-prod",
            revision="rev-1", inputs=served[FEATURES].iloc[[i]],
            outputs={"predict": [int(proba[i] >= 0.5)]}, latency_ms=1.0,
            at=T0 + dt.timedelta(minutes=20, seconds=i), shadow=False,
        )  # fmt: skip
    log.flush()
    outcome = ws.monitoring.drift(
        MODEL, "champion", since=dt.timedelta(hours=2), until=T0 + dt.timedelta(hours=1)
    )
    features = outcome.report.features
    assert features["spend"].rows == 500  # every row logged it
    assert features["plan"].rows == 300  # only the batch job's rows carry it


def test_small_windows_use_p_value_tests_corrected_for_many_columns(ws: Workspace) -> None:
    register_model(ws)
    log = ws.monitoring.prediction_log()
    log_traffic(ws, log, frame(400, seed=3, shift={"tenure": 6.0}))
    report = ws.monitoring.drift(MODEL, 1, since=T0, until=T0 + dt.timedelta(hours=1)).report
    assert report.features["tenure"].test == "ks"
    assert (
        report.features["tenure"].p_value is not None and report.features["tenure"].p_value < 1e-6
    )
    assert report.drifted_columns == ["tenure"]
    assert report.config.correction == "benjamini-hochberg"


def test_no_drift_on_traffic_like_the_training_data(ws: Workspace) -> None:
    register_model(ws)
    log = ws.monitoring.prediction_log()
    log_traffic(ws, log, frame(1200, seed=4))
    report = ws.monitoring.drift(
        MODEL, "champion", since=T0, until=T0 + dt.timedelta(hours=1)
    ).report
    assert report.drifted is False
    assert report.drifted_columns == []


def test_pii_columns_are_hashed_in_the_written_parquet(ws: Workspace) -> None:
    register_model(ws)
    log = ws.monitoring.prediction_log()
    data = frame(20, seed=5)
    log_traffic(ws, log, data)
    objects = ws.monitoring.links.objects
    emails = set(data["email"])
    for digest, size, _rows, masked in _partitions(ws):
        raw = objects.read_bytes(digest, expected_size=size)
        assert not any(e.encode() in raw for e in emails)
        table = pq.read_table(io.BytesIO(raw)).to_pandas()
        assert masked == {"email": "hash"}
        assert table["input.email"].str.fullmatch(r"[0-9a-f]{16}").all()
        assert table["input.spend"].tolist() == pytest.approx(data["spend"].tolist()[: len(table)])


def test_explicit_policy_drops_a_column(ws: Workspace) -> None:
    register_model(ws)
    log = ws.monitoring.prediction_log(masking={"age": "drop"}, pii_action="drop")
    log_traffic(ws, log, frame(5, seed=6))
    for digest, size, _rows, masked in _partitions(ws):
        table = pq.read_table(
            io.BytesIO(ws.monitoring.links.objects.read_bytes(digest, expected_size=size))
        )
        assert "input.age" not in table.column_names and "input.email" not in table.column_names
        assert masked == {"email": "drop", "age": "drop"}


def test_accuracy_from_feedback_that_arrives_later(ws: Workspace) -> None:
    register_model(ws)
    log = ws.monitoring.prediction_log()
    data = frame(300, seed=7)
    ids = log_traffic(ws, log, data)
    empty = ws.monitoring.performance(MODEL, "champion", since=T0, until=T0 + dt.timedelta(hours=1))
    assert empty.performance.labelled == 0
    truth = target(data)
    flipped = [
        1 - int(t) if i % 4 == 0 else int(t) for i, t in enumerate(truth)
    ]  # 75% right at most
    assert ws.monitoring.feedback(list(zip(ids, flipped, strict=True))) == 300
    outcome = ws.monitoring.performance(
        MODEL, "champion", since=T0, until=T0 + dt.timedelta(hours=1)
    )
    perf = outcome.performance
    preds = ws.monitoring.read_predictions(MODEL, 1, since=T0, until=T0 + dt.timedelta(hours=1))
    expected = sum(int(p) == f for p, f in zip(preds["output.predict"], flipped, strict=True)) / 300
    assert perf.labelled == 300 and perf.task == "classification"
    assert perf.metrics["accuracy"] == pytest.approx(expected)
    assert perf.metrics["roc_auc"] is not None
    assert 0.5 < perf.estimated["accuracy"] <= 1.0  # CBPE over all 300
    assert [r["kind"] for r in ws.monitoring.results(MODEL, kind="performance")] == [
        "performance"
    ] * 2


def test_unknown_request_ids_are_reported_and_nothing_is_attached(ws: Workspace) -> None:
    register_model(ws)
    log = ws.monitoring.prediction_log()
    ids = log_traffic(ws, log, frame(3, seed=8))
    with pytest.raises(UnknownRequestError, match="2 of 3 request id") as err:
        ws.monitoring.feedback([(ids[0], 1), ("nope-1", 0), ("nope-2", 1)])
    assert err.value.unknown == ["nope-1", "nope-2"]
    with ws.store.read() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM prediction_feedback")).scalar_one() == 0


def test_duplicate_request_ids_are_refused_and_reported(ws: Workspace) -> None:
    from falaj.monitoring import PredictionLogError

    register_model(ws)
    log = ws.monitoring.prediction_log()
    log_traffic(ws, log, frame(3, seed=9))
    with pytest.raises(PredictionLogError, match="'r1'"):
        log_traffic(ws, log, frame(2, seed=10))
    with ws.store.read() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM prediction_requests")).scalar_one() == 3


def test_sampling_rate_keeps_about_that_share(ws: Workspace) -> None:
    import random

    register_model(ws)
    log = ws.monitoring.prediction_log(sample_rate=0.25, rng=random.Random(42))
    log_traffic(ws, log, frame(400, seed=11))
    with ws.store.read() as conn:
        kept = conn.execute(sa.text("SELECT count(*) FROM prediction_requests")).scalar_one()
    draws = random.Random(42)
    expected = sum(draws.random() < 0.25 for _ in range(400))
    assert kept == expected == log.submitted
    assert log.sampled_out == 400 - kept


def test_retention_deletes_old_partitions_their_bytes_and_ids(ws: Workspace) -> None:
    register_model(ws)
    log = ws.monitoring.prediction_log()
    old = log_traffic(ws, log, frame(3, seed=12), start=T0 - dt.timedelta(days=40), prefix="old")
    log_traffic(ws, log, frame(3, seed=13), start=T0, prefix="new")
    ws.monitoring.feedback([(old[0], 1)])
    old_parts = [p for p in _partitions(ws)]
    report = ws.monitoring.retention(30, now=T0)
    assert (report.partitions, report.requests) == (1, 3)
    left = _partitions(ws)
    assert len(left) == len(old_parts) - 1
    gone = {p[0] for p in old_parts} - {p[0] for p in left}
    assert all(not ws.monitoring.links.objects.exists(d) for d in gone)
    with ws.store.read() as conn:
        ids = {r[0] for r in conn.execute(sa.text("SELECT request_id FROM prediction_requests"))}
        assert conn.execute(sa.text("SELECT count(*) FROM prediction_feedback")).scalar_one() == 0
    assert ids == {"new0", "new1", "new2"}


def test_drift_thresholds_are_overridable(ws: Workspace) -> None:
    register_model(ws)
    log = ws.monitoring.prediction_log()
    log_traffic(ws, log, frame(1500, seed=14, shift={"spend": 15.0}))
    lax = DriftConfig(thresholds={"wasserstein": 5.0}, drift_share=0.2)
    report = ws.monitoring.drift(
        MODEL, 1, since=T0, until=T0 + dt.timedelta(hours=1), config=lax
    ).report
    assert report.features["spend"].drifted is False


def test_hourly_windows_are_stored_as_a_trend(ws: Workspace) -> None:
    register_model(ws)
    log = ws.monitoring.prediction_log()
    log_traffic(ws, log, frame(200, seed=15), start=T0, prefix="h1-", step=dt.timedelta(seconds=10))
    shifted = frame(200, seed=16, shift={"tenure": 8.0})
    log_traffic(
        ws,
        log,
        shifted,
        start=T0 + dt.timedelta(hours=1),
        prefix="h2-",
        step=dt.timedelta(seconds=10),
    )
    outcomes = ws.monitoring.drift_trend(
        MODEL, "champion", window="hourly", since=T0, until=T0 + dt.timedelta(hours=2)
    )
    assert [o.report.rows for o in outcomes] == [200, 200]
    assert [o.report.features["tenure"].drifted for o in outcomes] == [False, True]
    trend = ws.monitoring.results(MODEL, "champion", kind="drift")
    assert [r["window_start"] for r in trend] == [T0 + dt.timedelta(hours=1), T0]
