"""Stage "features": point-in-time training data and online lookups by id.

The German credit applicants get an id and a history of account events (balance and number of
late payments, some rows written late). A feature view over those events gives training data
that is point-in-time correct (the features as they were when each applicant applied, never
after); a small model is trained on it; the latest values are materialized into the online
store, and the model scores applicants sent by id only: their features are looked up online,
with the TTL enforced (stale values read as missing, flagged).

Puts in ``ctx.results``: ``feature_service`` ("credit_applicant") and ``feature_training_set``
(the registered training set's ``name@version``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rich.table import Table

from falaj.features import Entity, FeatureService, FeatureView

if TYPE_CHECKING:
    import pandas as pd

    from falaj.demo.runner import DemoContext

EVENTS = "applicant_events"
SERVICE = "credit_applicant"


def _events(applicants: pd.DataFrame, now: dt.datetime) -> pd.DataFrame:
    """Three events per applicant over the last 90 days; every 7th applicant's last event was
    written 5 days after it happened (late data)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    n = len(applicants)
    ids = np.repeat(np.arange(n), 3)
    days_ago = np.concatenate([np.sort(rng.uniform(0, 90, 3))[::-1] for _ in range(n)])
    event_ts = pd.to_datetime(now) - pd.to_timedelta(days_ago, unit="D")
    late = (ids % 7 == 0) & (np.arange(3 * n) % 3 == 2)
    loaded = event_ts + pd.to_timedelta(np.where(late, 5, 0), unit="D")
    base = applicants["credit_amount"].to_numpy()[ids].astype(float)
    return pd.DataFrame(
        {
            "applicant_id": ids,
            "event_ts": event_ts,
            "loaded_at": loaded,
            "balance": np.round(base * rng.uniform(0.1, 1.5, 3 * n), 2),
            "late_payments": rng.poisson(1 - applicants["risk"].to_numpy()[ids] * 0.7),
        }
    )


def run(ctx: DemoContext) -> None:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    ws = ctx.ws
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    applicants = ws.datasets.load(ws.datasets.get("german_credit").id)
    events = ws.datasets.register(EVENTS, _events(applicants, now), description="account events")
    ctx.say(f"registered {events.id}: {events.row_count:,} account events with event/load times")

    applied = ws.features.apply(
        [
            Entity("applicant", join_keys=["applicant_id"], description="a credit applicant"),
            FeatureView(
                "account_activity",
                entities=["applicant"],
                source=EVENTS,
                timestamp="event_ts",
                created_timestamp="loaded_at",
                features={"balance": "float64", "late_payments": "int64"},
                ttl="30d",
                owner="risk-team",
                classification="confidential",
            ),
            FeatureService(
                SERVICE, features=["account_activity:balance", "account_activity:late_payments"]
            ),
        ]
    )
    ctx.say(f"applied {', '.join(r.kind + ' ' + r.id for r in applied.changed)}")

    # each applicant applied 20 days ago: features as of then, never later
    entity_df = pd.DataFrame(
        {
            "applicant_id": range(len(applicants)),
            "event_timestamp": pd.Timestamp(now - dt.timedelta(days=20)),
            "risk": applicants["risk"],
        }
    )
    training = ws.features.get_historical(
        entity_df, features=SERVICE, register_as="credit_training_features"
    )
    matched = int(training["balance"].notna().sum())
    ctx.say(
        f"point-in-time training set: {len(training):,} rows (every applicant kept), "
        f"{matched:,} with a value visible 20 days ago within the 30-day TTL, the rest null"
    )
    x = training[["balance", "late_payments"]].fillna(0.0)
    model = LogisticRegression(max_iter=200).fit(x, training["risk"])
    accuracy = model.score(x, training["risk"])
    ctx.say(f"trained a model on those features (training accuracy {accuracy:.2f})")

    [result] = ws.features.materialize(end=now)
    store = ws.features.online_store.kind
    ctx.say(f"materialized {result.rows_written:,} latest values into the {store} online store")
    [fresh] = ws.features.freshness()
    assert fresh.watermark is not None
    ctx.say(
        f"freshness of {fresh.view}: watermark {fresh.watermark:%Y-%m-%d %H:%M} UTC, ttl "
        f"{fresh.as_dict()['ttl']}, {'stale' if fresh.stale else 'fresh'}"
    )

    # serving: the caller sends ids only; the features come from the online store
    lookup = ws.features.lookup(SERVICE)
    ids = list(range(5))
    found = lookup.many({"applicant_id": ids})
    feats = pd.DataFrame({"balance": found["balance"], "late_payments": found["late_payments"]})
    scores = model.predict_proba(feats.astype(float).fillna(0.0))[:, 1]
    table = Table("applicant_id", "balance", "late_payments", "fresh", "P(good)")
    for i, applicant in enumerate(ids):
        table.add_row(
            str(applicant),
            "-" if found["balance"][i] is None else f"{found['balance'][i]:,.2f}",
            "-" if found["late_payments"][i] is None else str(found["late_payments"][i]),
            "yes" if found["account_activity__fresh"][i] else "[yellow]stale: missing[/]",
            f"{scores[i]:.2f}",
        )
    ctx.console.print(table)
    ctx.results["feature_service"] = SERVICE
    ctx.results["feature_training_set"] = ws.datasets.get("credit_training_features").id
