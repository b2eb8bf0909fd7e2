"""The prediction log under concurrent callers: bounded queue, every request written once."""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import pytest
import sqlalchemy as sa

from falaj.errors import InvalidInputError
from falaj.workspace import Workspace
from tests.unit.monitoring.support import MODEL, T0, register_model


def _log_many(log: object, thread: int, n: int) -> None:
    for i in range(n):
        log.log(  # type: ignore[attr-defined]
            request_id=f"t{thread}-{i}", model=MODEL, version=1, deployment="d", revision="r",
            inputs=pd.DataFrame({"tenure": [float(i)], "spend": [1.0], "visits": [2.0], "age": [3.0]}),
            outputs={"predict": [i % 2]}, latency_ms=0.5, at=T0 + dt.timedelta(seconds=i),
            shadow=thread % 2 == 0,
        )  # fmt: skip


@pytest.mark.slow
def test_concurrent_callers_are_bounded_and_every_request_is_written_once(ws: Workspace) -> None:
    register_model(ws, rows=200)
    log = ws.monitoring.prediction_log(batch_size=8, max_pending=16, flush_interval=0.05)
    threads = [threading.Thread(target=_log_many, args=(log, t, 60)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    log.flush()
    assert log.peak_pending <= 16 == log.max_pending
    with ws.store.read() as conn:
        ids = [r[0] for r in conn.execute(sa.text("SELECT request_id FROM prediction_requests"))]
    assert sorted(ids) == sorted(f"t{t}-{i}" for t in range(4) for i in range(60))
    frame = ws.monitoring.read_predictions(MODEL, 1, since=T0, until=T0 + dt.timedelta(hours=1))
    assert len(frame) == 240 and set(frame["shadow"]) == {True, False}


def test_bad_calls_are_refused_at_once(ws: Workspace) -> None:
    log = ws.monitoring.prediction_log()
    args = dict(
        model=MODEL, version=1, deployment=None, revision=None, latency_ms=1.0, shadow=False
    )
    one = pd.DataFrame({"x": [1.0]})
    with pytest.raises(InvalidInputError, match="request_id"):
        log.log(request_id="", inputs=one, outputs={}, at=T0, **args)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        log.log(request_id="a", inputs=one, outputs={}, at=dt.datetime(2026, 1, 1), **args)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="2 values for 1 input rows"):
        log.log(request_id="a", inputs=one, outputs={"predict": [1, 0]}, at=T0, **args)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="sample_rate"):
        ws.monitoring.prediction_log(sample_rate=1.5)
    assert log.pending == 0


def test_the_log_and_the_service_have_the_sinks_signatures_serving_calls() -> None:
    """Serving's PredictionSink / FeedbackSink protocols, as agreed for the merge."""
    import inspect

    from falaj.monitoring import MonitoringService, PredictionLog

    log = inspect.signature(PredictionLog.log)
    keywords = [p.name for p in log.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert keywords == [
        "request_id", "model", "version", "deployment", "revision", "inputs", "outputs",
        "latency_ms", "at", "shadow",
    ]  # fmt: skip
    assert list(inspect.signature(PredictionLog.flush).parameters) == ["self"]
    assert list(inspect.signature(MonitoringService.feedback).parameters) == ["self", "items"]
