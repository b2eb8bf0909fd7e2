"""Poison pills in the tracking writer: text no backend can store is refused at the call (and
changes nothing); a row that still fails is isolated and reported, never blocks other runs, and
is never retried forever."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from falaj.errors import InvalidInputError
from falaj.tracking.errors import TrackingWriteError
from falaj.workspace import Workspace

POISON = ["nul\x00byte", "lone \udcff surrogate"]


@pytest.mark.parametrize("text", POISON, ids=["nul", "surrogate"])
def test_unstorable_text_is_refused_at_the_call(any_ws: Workspace, text: str) -> None:
    with any_ws.start_run("poison") as run:
        with pytest.raises(InvalidInputError, match="param 'p'"):
            run.log_param("p", text)
        with pytest.raises(InvalidInputError, match="tag 't'"):
            run.set_tag("t", text)
        with pytest.raises(InvalidInputError, match="run_name"):
            any_ws.start_run("poison", run_name=text)
        run.log_param("ok", "fine")
    got = any_ws.tracking.get_run(run.id)
    assert got.status == "FINISHED"
    assert got.params == {"ok": "fine"}


def test_a_row_the_store_refuses_is_isolated_and_the_other_runs_are_written(
    any_ws: Workspace,
) -> None:
    """Defense in depth: a row that slipped past validation (here queued by hand) fails its
    batch; the writer isolates it, writes every other row, reports it once and moves on."""
    other = any_ws.start_run("neighbours")
    victim = any_ws.start_run("poison")
    for i in range(50):
        other.log_metric("loss", float(i), step=i)
    victim._submit(
        (1, victim.id, "bad", "x\x00y" if any_ws.store.dialect == "postgresql" else "\udcff")
    )
    victim.log_param("good", "kept")
    with pytest.raises(TrackingWriteError, match=r"1 logged row\(s\) were refused.*param 'bad'"):
        any_ws.tracking.flush()
    any_ws.tracking.flush()  # reported once: nothing left, nothing retried
    other.end()
    victim.end()
    assert [p.step for p in any_ws.tracking.metric_history(other.id, "loss")] == list(range(50))
    got = any_ws.tracking.get_run(victim.id)
    assert got.params == {"good": "kept"} and got.status == "FINISHED"


def test_concurrent_first_use_of_an_experiment_writes_one_create_event(tmp_path) -> None:
    """Regression: two workspaces auto-creating one experiment both wrote a success event."""
    import threading

    Workspace.init(tmp_path / "ws").close()
    spaces = [Workspace.open(tmp_path / "ws") for _ in range(4)]
    barrier = threading.Barrier(4)

    def start(ws: Workspace) -> None:
        barrier.wait()
        with ws.start_run("shared"):
            pass

    threads = [threading.Thread(target=start, args=(w,)) for w in spaces]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with spaces[0].store.read() as conn:
        events = conn.execute(
            sa.text("SELECT count(*) FROM audit_events WHERE action = 'experiment.create'")
        ).scalar_one()
        experiments = conn.execute(
            sa.text("SELECT count(*) FROM tracking_experiments")
        ).scalar_one()
    for w in spaces:
        w.close()
    assert (experiments, events) == (1, 1)
