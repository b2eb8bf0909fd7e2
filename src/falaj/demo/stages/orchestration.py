"""Stage: operating pipelines. A transient failure absorbed by a retry; a run that fails on a
missing publish target, resumed from the failed step once the target exists (finished steps are
reused); a cron schedule whose due slots two schedulers race for (each slot runs once); and the
same pipeline exported as an Airflow DAG and a Kubeflow Pipelines spec.

Reads nothing from earlier stages. Puts ``ctx.results["resumed_run_id"]`` and
``ctx.results["exports"]`` (kind → file path).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from falaj.errors import BackendUnavailableError

if TYPE_CHECKING:
    from falaj.demo.runner import DemoContext

SOURCE = "falaj.demo.ops_steps:nightly"


def run(ctx: DemoContext) -> None:
    from falaj.demo.ops_steps import nightly
    from falaj.pipelines.errors import StepFailedError

    ws = ctx.ws
    ops = ctx.workdir / "ops"
    params = {"workdir": str(ops / "feed"), "target": str(ops / "published")}
    try:
        ws.pipelines.run(nightly, params=params)
        raise AssertionError("the publish target does not exist yet; the run should fail")
    except StepFailedError as failed:
        run_id = failed.run_id
        ctx.say(f"run {run_id[:12]} failed at step {failed.step!r}: {failed}")
    before = ws.pipelines.get_run(run_id)
    fetch = before.latest("fetch")
    assert fetch is not None
    ctx.say(f"step fetch needed {fetch.attempts} attempts (a transient outage, retried)")
    (ops / "published").mkdir(parents=True)
    resumed = ws.pipelines.resume(run_id)
    reused: list[str] = []
    ran: list[str] = []
    for name in ("fetch", "score", "publish"):
        old, new = before.latest(name), resumed.latest(name)
        assert new is not None
        (reused if old is not None and old.id == new.id and old.done else ran).append(name)
    ctx.say(
        f"resumed {run_id[:12]} once the target existed: {resumed.status}; "
        f"reused {', '.join(reused)}; ran {', '.join(ran)}"
    )

    schedules = ws.pipelines.schedules
    nightly_schedule = schedules.create("nightly-scores", SOURCE, "0 2 * * *", params=params)
    later = nightly_schedule.created_at + dt.timedelta(days=2)
    first = schedules.tick(later, scheduler_id="scheduler-a")
    second = schedules.tick(later, scheduler_id="scheduler-b")
    ctx.say(
        f"schedule '0 2 * * *': two schedulers ticked at +2 days; scheduler-a ran "
        f"{sum(c.won for c in first)} slot(s), scheduler-b ran {sum(c.won for c in second)} "
        "(each slot is claimed once, in the database)"
    )

    from falaj.pipelines.exporters.airflow import export_airflow
    from falaj.pipelines.exporters.kubeflow import export_kubeflow
    from falaj.pipelines.spec import load_pipeline

    pipe = load_pipeline(SOURCE, params)
    exports: dict[str, str] = {}
    dag = ops / "exports" / "falaj_nightly.py"
    dag.parent.mkdir(parents=True, exist_ok=True)
    dag.write_text(export_airflow(pipe, schedule="0 2 * * *", home=str(ws.home)), "utf-8")
    exports["airflow"] = str(dag)
    try:
        exports["kubeflow"] = str(
            export_kubeflow(pipe, ops / "exports" / "nightly.kfp.yaml", home=str(ws.home))
        )
    except BackendUnavailableError as missing:
        ctx.say(f"Kubeflow export skipped: {missing}")
    for kind, path in exports.items():
        ctx.say(f"exported for {kind}: {path} (each task runs `falaj step run`)")
    ctx.results["resumed_run_id"] = run_id
    ctx.results["exports"] = exports
