"""Runs through the Python API: params, metrics, tags, status, lineage, models (SQLite)."""

from __future__ import annotations

import math
import re

import pytest

from falaj.errors import ConflictError, InvalidInputError
from falaj.lineage.graph import Node
from falaj.tracking.errors import (
    ExperimentNotFoundError,
    ParamConflictError,
    RunNotActiveError,
    RunNotFoundError,
)
from falaj.workspace import Workspace


def test_params_are_immutable_at_the_call(ws: Workspace) -> None:
    with ws.start_run("credit") as run:
        run.log_param("C", 1.0)
        run.log_param("C", 1.0)  # the same value again is fine
        with pytest.raises(ParamConflictError, match=r"'C' of run .* is already '1\.0'"):
            run.log_param("C", 2.0)
    assert ws.tracking.get_run(run.id).params == {"C": "1.0"}


def test_log_params_checks_every_value_before_recording_any(ws: Workspace) -> None:
    with ws.start_run("credit") as run:
        run.log_param("a", "x")
        with pytest.raises(ParamConflictError):
            run.log_params({"b": 1, "a": "y"})
    assert ws.tracking.get_run(run.id).params == {"a": "x"}


def test_failing_block_marks_run_failed_with_the_error(ws: Workspace) -> None:
    with pytest.raises(ZeroDivisionError), ws.start_run("credit") as run:
        run.log_metric("loss", 0.3)
        _ = 1 / 0
    stored = ws.tracking.get_run(run.id)
    assert stored.status == "FAILED"
    assert stored.error is not None
    assert stored.error.startswith("ZeroDivisionError: division by zero")
    assert stored.metrics == {"loss": 0.3}
    assert stored.end_time is not None


def test_keyboard_interrupt_marks_run_killed(ws: Workspace) -> None:
    with pytest.raises(KeyboardInterrupt), ws.start_run("credit") as run:
        raise KeyboardInterrupt
    assert ws.tracking.get_run(run.id).status == "KILLED"


def test_logging_after_end_is_refused(ws: Workspace) -> None:
    with ws.start_run("credit") as run:
        pass
    with pytest.raises(RunNotActiveError, match="has ended"):
        run.log_metric("loss", 1.0)


def test_latest_metric_is_the_highest_step_and_history_keeps_every_point(ws: Workspace) -> None:
    with ws.start_run("credit") as run:
        run.log_metric("auc", 0.7, step=2)
        run.log_metric("auc", 0.9, step=5)
        run.log_metric("auc", 0.6, step=1)
    assert ws.tracking.get_run(run.id).metrics == {"auc": 0.9}
    history = ws.tracking.metric_history(run.id, "auc")
    assert [(p.step, p.value) for p in history] == [(1, 0.6), (2, 0.7), (5, 0.9)]


def test_nan_metric_round_trips_as_nan(ws: Workspace) -> None:
    with ws.start_run("credit") as run:
        run.log_metric("loss", float("nan"))
        run.log_metric("gain", float("inf"))
    stored = ws.tracking.get_run(run.id).metrics
    assert math.isnan(stored["loss"])
    assert stored["gain"] == math.inf


def test_tags_are_mutable_and_start_tags_are_kept(ws: Workspace) -> None:
    with ws.start_run("credit", tags={"team": "risk", "stage": "dev"}) as run:
        run.set_tag("stage", "prod")
    assert ws.tracking.get_run(run.id).tags == {"stage": "prod", "team": "risk"}


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda r: r.log_metric("bad key!", 1.0), "metric key 'bad key!' is invalid"),
        (lambda r: r.log_metric("loss", "high"), "metric 'loss' has value 'high'"),
        (lambda r: r.log_metric("loss", 1.0, step=1.5), "metric 'loss' has step 1.5"),
        (lambda r: r.log_param("p", None), "param 'p' has value None"),
        (lambda r: r.set_tag("", "x"), "tag key '' is invalid"),
    ],
)
def test_bad_input_names_the_field_and_value(ws: Workspace, call: object, words: str) -> None:
    with ws.start_run("credit") as run:
        with pytest.raises(InvalidInputError) as info:
            call(run)  # type: ignore[operator]
        assert words in str(info.value)
    stored = ws.tracking.get_run(run.id)
    assert stored.params == {} and stored.metrics == {} and stored.tags == {}


def test_child_runs_point_at_their_parent(ws: Workspace) -> None:
    with ws.start_run("hpo", run_name="study") as parent:
        for i in range(3):
            with ws.start_run("hpo", run_name=f"trial-{i}", parent_run_id=parent.id) as t:
                t.log_metric("auc", 0.5 + i / 10)
    children = ws.tracking.search_runs(f"attributes.parent_id = '{parent.id}'").runs
    assert sorted(c.name for c in children) == ["trial-0", "trial-1", "trial-2"]
    assert {c.parent_id for c in children} == {parent.id}


@pytest.mark.slow
def test_child_run_may_name_a_parent_started_by_another_process(ws: Workspace) -> None:
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from falaj.workspace import Workspace\n"
        f"ws = Workspace.open({str(ws.home)!r})\n"
        "with ws.start_run('hpo', run_name='study') as run:\n"
        "    print(run.id, flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        parent_id = proc.stdout.readline().strip()
        with ws.start_run("hpo", run_name="trial", parent_run_id=parent_id) as child:
            child.log_metric("auc", 0.7)
        proc.stdin.write("done\n")
        proc.stdin.flush()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert ws.tracking.get_run(child.id).parent_id == parent_id
    assert ws.tracking.get_run(parent_id).status == "FINISHED"


def test_unknown_parent_run_is_refused(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("falaj.tracking.service._PARENT_WAIT_S", 0.2)
    with pytest.raises(RunNotFoundError, match="parent_run_id 'nope'"):
        ws.start_run("hpo", parent_run_id="nope")


def test_log_dataset_writes_the_input_lineage_edge(ws: Workspace) -> None:
    with ws.start_run("credit") as run:
        run.log_dataset("german_credit@3")
    edges = ws.lineage.upstream(Node("run", run.id))
    assert [(str(e.source), e.relation) for e in edges] == [
        ("dataset_version:german_credit@3", "input")
    ]
    assert ws.tracking.get_run(run.id).inputs[0].dataset_version_id == "german_credit@3"


def test_log_dataset_refuses_an_id_without_version(ws: Workspace) -> None:
    with ws.start_run("credit") as run, pytest.raises(InvalidInputError, match="name@version"):
        run.log_dataset("german_credit")


def test_artifact_names_are_unique_per_run(ws: Workspace) -> None:
    with ws.start_run("credit") as run:
        info = run.log_bytes(b"a,b\n1,2\n", "data.csv", "text/csv")
        run.log_bytes(b"a,b\n1,2\n", "data.csv", "text/csv")  # same content: fine
        with pytest.raises(ConflictError, match=r"already has an artifact named 'data\.csv'"):
            run.log_bytes(b"other", "data.csv", "text/csv")
    (artifact,) = ws.tracking.get_run(run.id).artifacts
    assert (artifact.name, artifact.digest) == ("data.csv", info.digest)
    assert ws.artifacts.get_bytes(info.digest) == b"a,b\n1,2\n"


def test_every_run_change_is_audited(ws: Workspace) -> None:
    with ws.start_run("credit") as run:
        run.log_metric("auc", 0.8)
    actions = [e.action for e in ws.audit.list(resource_id=run.id, newest_first=False)]
    assert actions[0] == "run.create"
    assert actions[-1] == "run.end"


def test_get_run_of_unknown_id_is_not_found(ws: Workspace) -> None:
    with pytest.raises(RunNotFoundError, match="run 'missing' does not exist"):
        ws.tracking.get_run("missing")


def test_experiments_are_created_once_and_listed(ws: Workspace) -> None:
    ws.tracking.create_experiment("credit", description="German credit")
    with pytest.raises(Exception, match="already exists"):
        ws.tracking.create_experiment("credit")
    ws.start_run("other").end()
    assert [e.name for e in ws.tracking.list_experiments()] == ["credit", "other"]
    with pytest.raises(ExperimentNotFoundError):
        ws.tracking.search_runs(experiment="missing")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"step": 2**63}, "has step 9223372036854775808: out of the 64-bit range"),
        ({"step": -(2**63) - 1}, "out of the 64-bit range"),
        ({"timestamp": 1e30}, "timestamp 1e+30 is invalid: epoch seconds out of the range"),
        ({"timestamp": float("nan")}, "timestamp nan is invalid"),
    ],
)
def test_a_step_or_timestamp_the_store_cannot_hold_is_refused_at_the_call_and_poisons_nothing(
    ws: Workspace, kwargs: dict[str, float], words: str
) -> None:
    with ws.start_run("credit") as run:
        with pytest.raises(InvalidInputError, match=re.escape(words)):
            run.log_metric("loss", 0.5, **kwargs)  # type: ignore[arg-type]
        run.log_metric("loss", 0.4, step=2**63 - 1)
    stored = ws.tracking.get_run(run.id)
    assert stored.status == "FINISHED"
    assert [(p.value, p.step) for p in ws.tracking.metric_history(run.id, "loss")] == [
        (0.4, 2**63 - 1)
    ]


def test_an_integer_metric_too_large_for_a_float_is_refused(ws: Workspace) -> None:
    with ws.start_run("credit") as run, pytest.raises(InvalidInputError, match="too large"):
        run.log_metric("count", 10**400)
