"""Local execution: order, parallel branches, retries, timeouts, failures, resume, logs."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from falaj.lineage import Node
from falaj.pipelines.errors import RunStateError, StepFailedError
from falaj.pipelines.runner import StepEvent
from falaj.pipelines.tables import step_outputs, step_runs
from falaj.workspace import Workspace
from tests.unit.pipelines import sample_steps as s
from tests.unit.pipelines.conftest import executions


def test_linear_pipeline_records_each_step_with_outputs(ws: Workspace) -> None:
    run = ws.pipelines.run(s.linear, params={"rows": 3})
    assert run.status == "SUCCEEDED"
    assert [st.step for st in run.steps] == ["make_frame", "add_one", "summarize"]
    summary = run.latest("summarize")
    assert summary is not None
    assert ws.pipelines.load_output(summary.id) == {"rows": 3, "x_sum": 6}
    bigger = run.latest("add_one")
    assert bigger is not None
    assert summary.inputs == {"df": bigger.outputs["output"].digest}


def test_steps_start_only_after_their_inputs_exist(ws: Workspace) -> None:
    events: list[StepEvent] = []
    ws.pipelines.run(s.linear, on_event=events.append)
    order = [(e.kind, e.step) for e in events]
    assert order.index(("succeeded", "make_frame")) < order.index(("started", "add_one"))
    assert order.index(("succeeded", "add_one")) < order.index(("started", "summarize"))


def test_independent_branches_run_at_the_same_time(ws: Workspace, tmp_path: Path) -> None:
    run = ws.pipelines.run(s.meeting, params={"folder": str(tmp_path)}, use_cache=False)
    joined = run.latest("join")
    assert joined is not None
    left, right = ws.pipelines.load_output(joined.id)
    # Each branch waited for the other to arrive: they can only both meet if they overlapped.
    assert (left["met"], right["met"]) == (True, True)


def test_a_flaky_step_is_retried_until_it_succeeds(ws: Workspace, counter: str) -> None:
    events: list[StepEvent] = []
    run = ws.pipelines.run(
        s.flaky_pipeline, params={"counter": counter, "fail_times": 2}, on_event=events.append
    )
    flaky = run.latest("flaky")
    assert flaky is not None
    assert (flaky.status, flaky.attempts) == ("SUCCEEDED", 3)
    assert ws.pipelines.load_output(flaky.id) == 3
    assert [e.attempt for e in events if e.kind == "retrying"] == [1, 2]
    logs = ws.pipelines.logs(flaky.id)
    assert "--- attempt 1 ---" in logs and "flaky failure 1" in logs and "attempt 3" in logs


def test_a_step_failing_after_its_retries_fails_the_run(ws: Workspace, counter: str) -> None:
    with pytest.raises(StepFailedError, match=r"step 'flaky' failed: RuntimeError") as info:
        ws.pipelines.run(s.flaky_pipeline, params={"counter": counter, "fail_times": 5})
    run = ws.pipelines.get_run(info.value.run_id)
    assert run.status == "FAILED"
    assert run.error is not None and "flaky failure 3" in run.error
    failed = run.latest("flaky")
    assert failed is not None
    assert (failed.status, failed.attempts, failed.outputs) == ("FAILED", 3, {})
    assert executions(counter) == 3


def test_failed_step_leaves_no_outputs_and_no_cache_entry(ws: Workspace, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    flag.write_text("fail")
    with pytest.raises(StepFailedError) as info:
        ws.pipelines.run(s.gated, params={"flag": str(flag)})
    run = ws.pipelines.get_run(info.value.run_id)
    gate = run.latest("gate")
    assert gate is not None and gate.status == "FAILED"
    assert run.latest("summarize") is None  # downstream never started
    with ws.store.read() as conn:
        outs = conn.execute(
            sa.select(step_outputs).where(step_outputs.c.step_run_id == gate.id)
        ).all()
    assert outs == []
    assert "gate is closed" in ws.pipelines.logs(gate.id)


def test_a_step_over_its_timeout_is_stopped(ws: Workspace) -> None:
    with pytest.raises(StepFailedError, match=r"step 'sleepy' failed: StepTimeoutError"):
        ws.pipelines.run(s.sleepy_pipeline, params={"seconds": 60.0})
    run = ws.pipelines.list_runs(limit=1)[0]
    sleepy = ws.pipelines.get_run(run.id).latest("sleepy")
    assert sleepy is not None
    assert sleepy.status == "FAILED"
    assert sleepy.duration_s < 30  # stopped, not waited out (60 s)


def test_resume_reruns_from_the_failed_step_reusing_earlier_outputs(
    ws: Workspace, tmp_path: Path, counter: str
) -> None:
    flag = tmp_path / "flag"
    flag.write_text("fail")
    with pytest.raises(StepFailedError) as info:
        ws.pipelines.run(s.gated, params={"flag": str(flag), "counter": counter})
    assert executions(counter) == 1
    flag.write_text("open")
    resumed = ws.pipelines.resume(info.value.run_id, use_cache=False)
    assert resumed.id == info.value.run_id
    assert resumed.status == "SUCCEEDED"
    assert executions(counter) == 1  # make_frame was not run again
    statuses = [(st.step, st.status) for st in resumed.steps]
    assert statuses == [
        ("make_frame", "SUCCEEDED"),
        ("gate", "FAILED"),
        ("gate", "SUCCEEDED"),
        ("summarize", "SUCCEEDED"),
    ]


def test_only_failed_runs_can_be_resumed(ws: Workspace) -> None:
    run = ws.pipelines.run(s.linear)
    with pytest.raises(RunStateError, match="SUCCEEDED"):
        ws.pipelines.resume(run.id)


def test_a_failed_run_is_not_resumed_by_another_pipeline(ws: Workspace, tmp_path: Path) -> None:
    from falaj.pipelines.errors import PipelineDefinitionError

    flag = tmp_path / "flag"
    flag.write_text("fail")
    with pytest.raises(StepFailedError) as info:
        ws.pipelines.run(s.gated, params={"flag": str(flag)})
    run_id = info.value.run_id
    with pytest.raises(PipelineDefinitionError, match="is a run of pipeline 'gated'"):
        ws.pipelines.resume(run_id, pipeline=s.linear.build())
    assert ws.pipelines.get_run(run_id).status == "FAILED"  # untouched


def test_a_run_key_that_is_not_text_is_refused(ws: Workspace) -> None:
    from falaj.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="run_key 5 is invalid"):
        ws.pipelines.run_step(f"{s.__name__}:linear", "make_frame", run_key=5)  # type: ignore[arg-type]


def test_step_logs_are_captured_per_step(ws: Workspace) -> None:
    run = ws.pipelines.run(s.linear, params={"rows": 2})
    frame = run.latest("make_frame")
    assert frame is not None
    assert ws.pipelines.logs(frame.id) == "making 2 rows\n"
    summary = run.latest("summarize")
    assert summary is not None and summary.log_digest is None


def test_context_links_lineage_and_sees_ids(ws: Workspace) -> None:
    run = ws.pipelines.run(s.context_pipeline)
    st = run.latest("with_context")
    assert st is not None
    out = ws.pipelines.load_output(st.id)
    assert (out["step_run_id"], out["pipeline_run_id"]) == (st.id, run.id)
    assert "context step with_context" in ws.pipelines.logs(st.id)
    up = ws.lineage.upstream(Node("step_run", st.id))
    assert {str(e.source) for e in up} == {"dataset_version:credit@1", f"pipeline_run:{run.id}"}


def test_lineage_links_pipeline_steps_and_artifacts(ws: Workspace) -> None:
    run = ws.pipelines.run(s.linear)
    summary = run.latest("summarize")
    assert summary is not None
    digest = summary.outputs["output"].digest
    up = {str(e.source) for e in ws.lineage.upstream(Node("artifact", digest))}
    assert f"pipeline_run:{run.id}" in up
    assert {f"step_run:{st.id}" for st in run.steps} <= up
    down = {str(e.target) for e in ws.lineage.downstream(Node("pipeline_run", run.id))}
    assert f"artifact:{digest}" in down


def test_untrusted_opaque_output_fails_with_a_clear_error(ws: Workspace) -> None:
    from falaj.pipelines import pipeline

    @pipeline
    def p() -> None:
        s.opaque()

    with pytest.raises(StepFailedError, match=r"step 'opaque' output 'output'.*trusted=True"):
        ws.pipelines.run(p)


@pytest.mark.slow
def test_process_executor_runs_independent_branches_at_the_same_time(
    ws: Workspace, tmp_path: Path
) -> None:
    from falaj.pipelines.executors import LocalExecutor

    run = ws.pipelines.run(
        s.meeting,
        params={"folder": str(tmp_path)},
        executor=LocalExecutor(max_workers=2, processes=True),
        use_cache=False,
    )
    joined = run.latest("join")
    assert joined is not None
    left, right = ws.pipelines.load_output(joined.id)
    assert (left["met"], right["met"]) == (True, True)
    assert left["pid"] != right["pid"]
    with ws.store.read() as conn:
        executors = set(conn.execute(sa.select(step_runs.c.executor)).scalars())
    assert executors == {"local-processes"}


@pytest.mark.slow
def test_a_step_in_a_child_process_reopens_the_workspace_as_the_same_principal(
    ws: Workspace,
) -> None:
    run = ws.pipelines.run(s.note_pipeline, params={"text": "from a worker"}, executor="processes")
    out = ws.pipelines.load_output(run.steps[0].id)
    assert out["principal"] == "alice"
    assert ws.artifacts.get_bytes(out["digest"]) == b"from a worker"


def test_a_run_left_running_is_resumed_only_when_forced(ws: Workspace, counter: str) -> None:
    import sqlalchemy as sa

    from falaj.pipelines.tables import pipeline_runs

    run = ws.pipelines.run(s.linear, params={"counter": counter})
    with ws.store.transaction() as conn:  # as if its process had died mid-run
        conn.execute(
            sa.update(pipeline_runs).where(pipeline_runs.c.id == run.id).values(status="RUNNING")
        )
    with pytest.raises(RunStateError, match="force=True"):
        ws.pipelines.resume(run.id)
    resumed = ws.pipelines.resume(run.id, force=True)
    assert resumed.status == "SUCCEEDED"
    assert executions(counter) == 2  # nothing re-ran: every step had succeeded


def test_params_that_are_not_a_mapping_are_refused(ws: Workspace) -> None:
    from falaj.pipelines.errors import PipelineDefinitionError

    with pytest.raises(PipelineDefinitionError, match=r"params \[1\] is invalid"):
        ws.pipelines.run(f"{s.__name__}:linear", params=[1])  # type: ignore[arg-type]
    with pytest.raises(PipelineDefinitionError, match=r"params \[1\] is invalid"):
        ws.pipelines.run(s.linear, params=[1])  # type: ignore[arg-type]
    with pytest.raises(PipelineDefinitionError, match=r"params \[1\] is invalid"):
        ws.pipelines.schedules.create("n", f"{s.__name__}:linear", "0 * * * *", params=[1])  # type: ignore[arg-type]
    assert ws.pipelines.list_runs() == []


def test_an_executor_that_is_not_one_is_refused(ws: Workspace) -> None:
    from falaj.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="executor 5 is unknown"):
        ws.pipelines.run(s.linear, executor=5)  # type: ignore[arg-type]
    assert ws.pipelines.list_runs() == []
