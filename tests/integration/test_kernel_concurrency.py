"""The kernel under many requests in one process: no self-deadlock across services, many
principals through one set of services and one tracking writer, every write attributed."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from falaj.governance import Principal, request_scope
from falaj.workspace import Workspace
from tests.registry_support import log_model

POLICY = "risk: low\nmetrics:\n  roc_auc: {min: 0.7, source: run}\n"


def test_promotion_while_another_run_logs_does_not_wait_on_itself(any_ws: Workspace) -> None:
    """Regression: promote opened a write transaction, then read the candidate's run through
    tracking, whose writer flush opened a second BEGIN IMMEDIATE on the same SQLite file and
    waited on itself for the 60 s busy timeout ("run unreadable: database is locked")."""
    ws = any_ws
    mv = ws.registry.create_version("credit", log_model(ws, metrics={"roc_auc": 0.83}))
    ws.registry.set_policy("credit", POLICY)
    busy = ws.start_run("noise")
    stop = threading.Event()
    started = threading.Event()
    logged = 0

    def log_forever() -> None:
        nonlocal logged
        while not stop.is_set():
            busy.log_metric("loss", 0.5, step=logged)
            logged += 1
            started.set()

    thread = threading.Thread(target=log_forever)
    thread.start()
    outcome: dict[str, object] = {}
    promoted = threading.Event()

    def promote() -> None:
        try:
            outcome["record"] = ws.registry.promote("credit", mv.version, reason="gates pass")
        except BaseException as exc:  # reported below
            outcome["error"] = exc
        finally:
            promoted.set()

    try:
        assert started.wait(30)
        before = logged
        promoter = threading.Thread(target=promote)
        promoter.start()
        # Liveness, not speed: logging stops only after the promotion returned, so a promotion
        # that waited for the busy writer (the bug: it waited on itself until the 60 s busy
        # timeout, then failed) never returns while the logger runs.
        assert promoted.wait(120), "promotion waited behind the busy writer"
        during = logged - before
        promoter.join(30)
    finally:
        stop.set()
        thread.join(30)
    busy.end()
    assert "error" not in outcome, outcome.get("error")
    record = outcome["record"]
    assert record.version == mv.version  # type: ignore[attr-defined]
    (metric,) = [c for c in record.gates if c["kind"] == "metric"]  # type: ignore[attr-defined]
    assert metric["passed"] is True and metric["actual"] == pytest.approx(0.83)
    assert metric["evidence"] == f"run {mv.run_id} metric roc_auc"
    assert during > 0  # the other run kept logging while the promotion ran
    assert ws.tracking.metric_history(busy.id, "loss")[-1].step == logged - 1


PRINCIPALS = [Principal(n, roles=frozenset({"ml-engineer"})) for n in ("ana", "ben", "cy", "di")]


def _worker(
    ws: Workspace,
    who: Principal,
    index: int,
    iterations: int,
    counts: Counter[str],
    errors: list[BaseException],
    lock: threading.Lock,
) -> None:
    local: Counter[str] = Counter()
    try:
        with request_scope(principal=who):
            i = 0
            while i < iterations:
                with ws.start_run(f"exp-{who.name}", run_name=f"{who.name}-{index}-{i}") as run:
                    run.log_params({"worker": index, "i": i})
                    for step in range(25):
                        run.log_metric("loss", 1.0 / (step + 1), step=step)
                    local["metrics"] += 25
                    if i % 3 == 0:
                        logged = log_model(ws, experiment=f"models-{who.name}")
                        mv = ws.registry.create_version(f"m-{who.name}-{index}", logged)
                        local["versions"] += 1
                        if mv.version == 1:
                            ws.registry.set_policy(f"m-{who.name}-{index}", POLICY)
                        ws.registry.promote(
                            f"m-{who.name}-{index}",
                            mv.version,
                            alias=f"a{mv.version}",
                            reason="concurrency test",
                        )
                        local["promotions"] += 1
                local["runs"] += 1
                i += 1
    except BaseException as exc:  # reported by the test
        errors.append(exc)
    with lock:
        counts.update({f"{who.name}:{k}": v for k, v in local.items()})


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sixteen_threads_four_principals_one_process(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db_url = (
        f"sqlite:///{tmp_path / 'meta.db'}"
        if backend == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    # A fixed amount of work, not a time box: the same interleavings are possible on a fast or
    # a loaded machine, and the counts below are exact.
    iterations = 4
    ws = Workspace.init(tmp_path / "ws", db_url=db_url, region="ae-dubai-1")
    counts: Counter[str] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()
    threads = [
        threading.Thread(
            target=_worker,
            args=(ws, PRINCIPALS[i % 4], i, iterations, counts, errors, lock),
        )
        for i in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    ws.tracking.flush()
    assert not errors, errors[:3]

    with ws.store.read() as conn:
        rows = conn.execute(
            sa.text("SELECT r.created_by, count(*) FROM tracking_runs r GROUP BY r.created_by")
        ).all()
        runs_by = dict(rows)
        metric_rows = conn.execute(
            sa.text(
                "SELECT r.created_by, count(*) FROM tracking_metrics m "
                "JOIN tracking_runs r ON r.id = m.run_id "
                "WHERE r.name NOT LIKE 'run-%' GROUP BY r.created_by"
            )
        ).all()
        events = conn.execute(
            sa.text(
                "SELECT principal, action, outcome, count(*) FROM audit_events "
                "GROUP BY principal, action, outcome"
            )
        ).all()
    audit = {(p, a, o): n for p, a, o, n in events}
    for who in PRINCIPALS:
        n = who.name
        made = counts[f"{n}:runs"] + counts[f"{n}:versions"]  # model runs are runs too
        assert runs_by.get(n) == made, (n, runs_by, counts)
        assert dict(metric_rows).get(n) == counts[f"{n}:metrics"]
        assert audit.get((n, "run.create", "success")) == made
        assert audit.get((n, "model.version.create", "success")) == counts[f"{n}:versions"]
        assert audit.get((n, "model.promote", "success")) == counts[f"{n}:promotions"]
        assert counts[f"{n}:promotions"] >= 1
    assert not [k for k in audit if k[2] != "success"], audit
    ws.close()
