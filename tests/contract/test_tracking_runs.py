"""Tracking on every metadata backend (SQLite and PostgreSQL): runs, params, metrics, search."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from falaj.errors import InvalidInputError
from falaj.tracking.errors import InvalidFilterError
from falaj.workspace import Workspace


def _seed(ws: Workspace) -> dict[str, str]:
    """Five finished runs with known params, metrics and tags; returns name -> id."""
    ids = {}
    specs = [
        ("a", "lgbm", "risk", 0.91, 0.20),
        ("b", "lgbm", "ops", 0.85, 0.30),
        ("c", "xgb", "risk", 0.78, 0.25),
        ("d", "logreg", "risk", 0.60, None),
        ("e", "xgb", "Risk", None, 0.40),
    ]
    for name, model, team, auc, loss in specs:
        with ws.start_run("credit", run_name=name, tags={"team": team}) as run:
            run.log_param("model", model)
            if auc is not None:
                run.log_metric("auc", auc - 0.1, step=0)
                run.log_metric("auc", auc, step=1)
            if loss is not None:
                run.log_metric("loss", loss)
        ids[name] = run.id
    with ws.start_run("other", run_name="x") as run:
        run.log_metric("auc", 0.99)
    ids["x"] = run.id
    return ids


def _names(ws: Workspace, text: str, **kwargs: object) -> list[str]:
    page = ws.tracking.search_runs(text, experiment="credit", **kwargs)  # type: ignore[arg-type]
    return [r.name for r in page.runs]


def test_run_round_trips_params_latest_metrics_and_tags(any_ws: Workspace) -> None:
    with any_ws.start_run("credit", run_name="r1", tags={"team": "risk"}) as run:
        run.log_params({"C": 0.5, "penalty": "l2"})
        for step in range(100):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
    stored = any_ws.tracking.get_run(run.id)
    assert stored.name == "r1"
    assert stored.experiment == "credit"
    assert stored.status == "FINISHED"
    assert stored.params == {"C": "0.5", "penalty": "l2"}
    assert stored.metrics == {"loss": 0.01}
    assert stored.tags == {"team": "risk"}
    assert stored.start_time <= stored.end_time  # type: ignore[operator]
    history = any_ws.tracking.metric_history(run.id, "loss")
    assert [p.step for p in history] == list(range(100))
    assert history[0].value == 1.0


def test_issue_filter_finds_exactly_the_matching_runs(any_ws: Workspace) -> None:
    _seed(any_ws)
    text = "metrics.auc > 0.8 and params.model = 'lgbm' and tags.team = 'risk'"
    assert _names(any_ws, text) == ["a"]


FILTER_CASES = [
    ("metrics.auc >= 0.85", ["a", "b"]),
    ("metrics.auc < 0.7", ["d"]),
    ("metrics.auc != 0.91", ["b", "c", "d"]),
    ("metrics.auc <= 0.78", ["c", "d"]),
    ("params.model != 'lgbm'", ["c", "d", "e"]),
    ("params.model IN ('xgb', 'logreg')", ["c", "d", "e"]),
    ("params.model NOT IN ('xgb', 'logreg')", ["a", "b"]),
    ("tags.team LIKE 'r%'", ["a", "c", "d"]),
    ("tags.team ILIKE 'r%'", ["a", "c", "d", "e"]),
    ("metrics.auc IS NULL", ["e"]),
    ("metrics.loss IS NOT NULL and metrics.auc > 0.7", ["a", "b", "c"]),
    ("metrics.auc > 0.9 or params.model = 'logreg'", ["a", "d"]),
    ("not tags.team = 'risk'", ["b", "e"]),
    ("status = 'finished' and name LIKE '%'", ["a", "b", "c", "d", "e"]),
    ("attributes.run_name IN ('a', 'e')", ["a", "e"]),
]


def test_filter_operators_select_exactly_the_matching_runs(any_ws: Workspace) -> None:
    _seed(any_ws)
    found = {text: sorted(_names(any_ws, text)) for text, _ in FILTER_CASES}
    assert found == dict(FILTER_CASES)


def test_order_by_metric_puts_runs_without_it_last(any_ws: Workspace) -> None:
    _seed(any_ws)
    assert _names(any_ws, "", order_by=["metrics.auc DESC"]) == ["a", "b", "c", "d", "e"]
    assert _names(any_ws, "", order_by=["metrics.loss"]) == ["a", "c", "b", "e", "d"]


def test_order_by_param_then_name(any_ws: Workspace) -> None:
    _seed(any_ws)
    order = ["params.model", "attributes.name DESC"]
    assert _names(any_ws, "", order_by=order) == ["b", "a", "d", "e", "c"]


def test_pages_cover_every_run_once(any_ws: Workspace) -> None:
    _seed(any_ws)
    seen: list[str] = []
    token = None
    while True:
        page = any_ws.tracking.search_runs(
            "", order_by=["metrics.auc DESC"], max_results=2, page_token=token
        )
        seen.extend(r.name for r in page.runs)
        token = page.next_page_token
        if token is None:
            break
    assert seen == ["x", "a", "b", "c", "d", "e"]


def test_page_token_from_another_search_is_refused(any_ws: Workspace) -> None:
    _seed(any_ws)
    page = any_ws.tracking.search_runs("", max_results=1)
    assert page.next_page_token is not None
    with pytest.raises(InvalidInputError, match="belongs to another search"):
        any_ws.tracking.search_runs("metrics.auc > 0", page_token=page.next_page_token)


def test_start_time_filter(any_ws: Workspace) -> None:
    _seed(any_ws)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert _names(any_ws, f"start_time > '{future}'") == []
    assert len(_names(any_ws, "start_time > '2000-01-01'")) == 5


def test_malformed_filter_is_refused_on_every_backend(any_ws: Workspace) -> None:
    with pytest.raises(InvalidFilterError, match="at position 14"):
        any_ws.tracking.search_runs("metrics.auc > 'x'")


def test_runs_logged_from_threads_all_land(any_ws: Workspace) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            with any_ws.start_run("threads", run_name=f"t{n}") as run:
                for step in range(200):
                    run.log_metric("m", float(step), step=step)
                run.log_param("n", n)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    runs = any_ws.tracking.search_runs("metrics.m = 199", experiment="threads").runs
    assert sorted(r.params["n"] for r in runs) == ["0", "1", "2", "3"]
    for r in runs:
        assert len(any_ws.tracking.metric_history(r.id, "m")) == 200
