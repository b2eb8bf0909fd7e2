"""`falaj serve --features SERVICE`: callers send entity ids, the model server looks the
features up in the online store (the same definitions training used: no skew)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from falaj.features import Entity, FeatureService, FeatureView
from falaj.governance.principal import Principal
from falaj.workspace import Workspace
from tests.serving_support import server_process

pytestmark = pytest.mark.slow

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _seed(home: Path) -> tuple[pd.DataFrame, object]:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    n = 50
    events = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "event_ts": pd.Timestamp(NOW - dt.timedelta(hours=1)),
            "balance": rng.normal(1000, 300, n).round(2),
            "visits": rng.poisson(4, n).astype("int64"),
        }
    )
    # customer 49's only event is older than the view's TTL: stale online, read as missing
    events.loc[49, "event_ts"] = pd.Timestamp(NOW - dt.timedelta(days=30))
    with Workspace.init(home, principal=Principal("alice")) as ws:
        ws.datasets.register("cust_events", events)
        ws.features.apply(
            [
                Entity("customer", join_keys=["customer_id"]),
                FeatureView(
                    "cust_stats",
                    entities=["customer"],
                    source="cust_events",
                    timestamp="event_ts",
                    features={"balance": "float64", "visits": "int64"},
                    ttl="7d",
                ),
                FeatureService("scoring", features=["cust_stats:balance", "cust_stats:visits"]),
            ]
        )
        ws.features.materialize(end=NOW)
        x = events[["balance", "visits"]]
        y = (x["balance"] > 1000).astype(int)
        model = LogisticRegression().fit(x, y)
        with ws.start_run("features") as run:
            logged = run.log_model(model, "model", input_example=x.head(5))
        ws.registry.create_version("scorer", logged)
    return events, model


def test_callers_send_ids_and_the_server_looks_the_features_up(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    events, model = _seed(home)
    ids = [0, 7, 21]
    expected = model.predict(events.loc[ids, ["balance", "visits"]]).tolist()  # type: ignore[attr-defined]
    with (
        server_process(home, "scorer/1", "--features", "scoring") as url,
        httpx.Client(base_url=url) as api,
    ):
        by_records = api.post("/predict", json=[{"customer_id": i} for i in ids])
        assert by_records.status_code == 200, by_records.text
        assert by_records.json()["predictions"] == expected
        tensor = {"name": "customer_id", "shape": [3], "datatype": "INT64", "data": ids}
        by_v2 = api.post("/v2/models/scorer/infer", json={"inputs": [tensor]})
        assert by_v2.status_code == 200, by_v2.text
        outputs = {o["name"]: o["data"] for o in by_v2.json()["outputs"]}
        assert outputs["predict"] == expected
        # features sent explicitly are used as sent
        sent = api.post("/predict", json=[{"customer_id": 0, "balance": 5000.0, "visits": 1}])
        assert (
            sent.json()["predictions"]
            == model.predict(  # type: ignore[attr-defined]
                pd.DataFrame({"balance": [5000.0], "visits": [1]})
            ).tolist()
        )
        # a stale entity: its features read as missing, and the answer says which column
        stale = api.post("/predict", json=[{"customer_id": 49}])
        assert stale.status_code == 400
        assert "balance" in stale.text
