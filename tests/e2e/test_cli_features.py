"""``falaj features`` as a user types it: apply, list, show, materialize, get."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import run_falaj

DEFS = """
entities:
  - {name: customer, join_keys: [customer_id]}
feature_views:
  - name: cust_stats
    entities: [customer]
    source: cust_events
    timestamp: event_ts
    features: {balance: float64}
    ttl: 3d
feature_services:
  - {name: credit_model, features: ["cust_stats:balance"]}
"""


def _events(path: Path) -> Path:
    path.write_text(
        "customer_id,event_ts,balance\n"
        "1,2026-01-01T00:00:00Z,10.0\n"
        "1,2026-01-05T00:00:00Z,50.0\n"
        "2,2026-01-02T00:00:00Z,20.0\n"
    )
    return path


def test_apply_list_show_materialize_get(tmp_path: Path) -> None:
    home = str(tmp_path / "ws")
    assert run_falaj("init", home).code == 0
    csv = _events(tmp_path / "events.csv")
    r = run_falaj("--home", home, "data", "register", "cust_events", str(csv))
    assert r.code == 0, r.err
    defs = tmp_path / "defs.yaml"
    defs.write_text(DEFS)
    r = run_falaj("--home", home, "features", "apply", str(defs), "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["changed"] == [
        "entity:customer@1",
        "feature_view:cust_stats@1",
        "feature_service:credit_model@1",
    ]
    again = run_falaj("--home", home, "features", "apply", str(defs))
    assert again.code == 0 and "0 changed, 3 unchanged" in again.out

    listed = json.loads(run_falaj("--home", home, "features", "list", "--json").out)
    assert [(d["kind"], d["name"]) for d in listed] == [
        ("entity", "customer"),
        ("feature_service", "credit_model"),
        ("feature_view", "cust_stats"),
    ]
    r = run_falaj(
        "--home", home, "features", "materialize", "--end", "2026-01-06T00:00:00+00:00", "--json"
    )
    assert r.code == 0, r.err
    assert json.loads(r.out)[0]["rows_written"] == 1  # customer 2's day-2 value is past the TTL

    shown = json.loads(run_falaj("--home", home, "features", "show", "cust_stats", "--json").out)
    assert shown["spec"]["ttl"] == 259200
    assert shown["freshness"]["watermark"].startswith("2026-01-06")
    text = run_falaj("--home", home, "features", "show", "cust_stats").out
    assert "watermark 2026-01-06" in text and "ttl 3d" in text

    # values are judged against the wall clock here: whatever today is, a value reads as
    # present exactly when it is flagged fresh, and customer 2 has nothing online
    got = json.loads(
        run_falaj(
            "--home",
            home,
            "features",
            "get",
            "--entity",
            "customer_id=1,2",
            "--service",
            "credit_model",
            "--json",
        ).out
    )
    assert got["customer_id"] == [1, 2]
    assert got["balance"][1] is None and got["cust_stats__fresh"][1] is False
    assert (got["balance"][0] == 50.0) == got["cust_stats__fresh"][0]


def test_input_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    home = str(tmp_path / "ws")
    assert run_falaj("init", home).code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("entities:\n  - {name: c, join_keys: id}\n")
    r = run_falaj("--home", home, "features", "apply", str(bad))
    assert r.code == 2 and "join_keys" in r.err and "Traceback" not in r.err
    r = run_falaj("--home", home, "features", "get", "--entity", "customer_id", "--feature", "a:b")
    assert r.code == 2 and "--entity 'customer_id' is invalid" in r.err
    r = run_falaj("--home", home, "features", "show", "nope")
    assert r.code == 3 and "'nope' is not registered" in r.err
    r = run_falaj("--home", home, "features", "materialize", "--end", "yesterday")
    assert r.code == 2 and "--end 'yesterday' is invalid" in r.err
