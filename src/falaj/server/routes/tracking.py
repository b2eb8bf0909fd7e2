"""Experiments and runs: create, search (the tracking search language), batched logging, end."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from falaj.errors import ConflictError
from falaj.governance.authorization import Action
from falaj.server.auth import CallerDep
from falaj.server.routes.common import Name, json_of

__all__ = ["router"]

router = APIRouter(tags=["tracking"])

_Key = Annotated[str, Field(min_length=1, max_length=250)]
_Text = Annotated[str, Field(max_length=5000)]


class ExperimentIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=10_000)] | None = None


class RunIn(BaseModel):
    experiment: Annotated[str, Field(min_length=1, max_length=200)]
    run_name: Annotated[str, Field(min_length=1, max_length=250)] | None = None
    tags: dict[_Key, _Text] | None = None
    parent_run_id: Annotated[str, Field(max_length=64)] | None = None


class MetricIn(BaseModel):
    key: _Key
    value: float
    step: Annotated[int, Field(ge=-(2**63), lt=2**63)] = 0
    #: seconds since the epoch when the client logged it (default: when the server got it)
    timestamp: Annotated[float, Field(ge=0, le=32503680000)] | None = None


class BatchIn(BaseModel):
    metrics: Annotated[list[MetricIn], Field(max_length=10_000)] = []
    params: dict[_Key, _Text | int | float | bool] = {}
    tags: dict[_Key, _Text] = {}


class EndIn(BaseModel):
    status: Annotated[str, Field(pattern="^(FINISHED|FAILED|KILLED)$")] = "FINISHED"
    error: Annotated[str, Field(max_length=4000)] | None = None


class DatasetLinkIn(BaseModel):
    dataset_version: Annotated[str, Field(min_length=3, max_length=300)]
    context: Annotated[str, Field(min_length=1, max_length=100)] = "training"


@router.get("/experiments")
def list_experiments(caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.tracking.list_experiments())


@router.post("/experiments", status_code=201)
def create_experiment(body: ExperimentIn, caller: CallerDep) -> Any:
    with caller:
        return json_of(
            caller.ws.tracking.create_experiment(body.name, description=body.description)
        )


@router.get("/experiments/{name}")
def get_experiment(name: Name, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.tracking.get_experiment(name))


@router.get("/runs")
def search_runs(
    caller: CallerDep,
    filter: Annotated[str, Query(max_length=5000)] = "",
    experiment: Annotated[str, Query(max_length=200)] | None = None,
    order_by: Annotated[list[str] | None, Query(max_length=10)] = None,
    max_results: Annotated[int, Query(ge=1, le=1000)] = 100,
    page_token: Annotated[str, Query(max_length=500)] | None = None,
) -> Any:
    """Runs matching ``filter`` in the tracking search language (``metrics.auc > 0.8 and
    params.model = 'rf'``), one page at a time."""
    with caller:
        page = caller.ws.tracking.search_runs(
            filter,
            experiment=experiment,
            order_by=order_by,
            max_results=max_results,
            page_token=page_token,
        )
        return json_of(page)


@router.post("/runs", status_code=201)
def start_run(body: RunIn, caller: CallerDep) -> Any:
    with caller:
        run = caller.ws.tracking.start_run(
            body.experiment,
            run_name=body.run_name,
            tags=body.tags,
            parent_run_id=body.parent_run_id,
        )
        with caller.server.lock:
            open_runs = caller.server.open_runs
            for ended in [key for key, handle in open_runs.items() if handle.ended]:
                del open_runs[ended]  # ended some other way (falaj runs end, a killed client)
            open_runs[run.id] = run
        return {"id": run.id, "experiment": run.experiment, "name": run.name, "status": run.status}


@router.get("/runs/{run_id}")
def get_run(run_id: Name, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.tracking.get_run(run_id))


def _active_run(caller: CallerDep, run_id: str) -> Any:
    """The run's handle in this process, once the caller may log to it."""
    caller.ws.tracking.authorize(Action.RUN_LOG, "run", run_id)
    with caller.server.lock:
        run = caller.server.open_runs.get(run_id)
    if run is None or run.ended:
        caller.ws.tracking.get_run(run_id)  # 404 for an unknown run
        raise ConflictError(
            f"run {run_id} is not open on this server (it ended, or another server process "
            "started it): start a new run"
        )
    return run


@router.post("/runs/{run_id}/log")
def log_batch(run_id: Name, body: BatchIn, caller: CallerDep) -> Any:
    """Metrics, params and tags in one call (queued on the server's batched writer)."""
    with caller:
        run = _active_run(caller, run_id)
        run.log_batch(
            [(m.key, m.value, m.step) for m in body.metrics if m.timestamp is None],
            params=body.params,
            tags=body.tags,
        )
        for m in body.metrics:
            if m.timestamp is not None:
                run.log_metric(m.key, m.value, m.step, timestamp=m.timestamp)
        return {"metrics": len(body.metrics), "params": len(body.params), "tags": len(body.tags)}


@router.post("/runs/{run_id}/end")
def end_run(run_id: Name, body: EndIn, caller: CallerDep) -> Any:
    with caller:
        with caller.server.lock:
            run = caller.server.open_runs.get(run_id)
        if run is not None and not run.ended:
            caller.ws.tracking.authorize(Action.RUN_END, "run", run_id)
            run.end(body.status, error=body.error)
            with caller.server.lock:
                caller.server.open_runs.pop(run_id, None)
            return json_of(caller.ws.tracking.get_run(run_id))
        return json_of(caller.ws.tracking.end_run(run_id, body.status, reason=body.error or ""))


@router.get("/runs/{run_id}/metrics/{key}")
def metric_history(run_id: Name, key: Name, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.tracking.metric_history(run_id, key))


@router.post("/runs/{run_id}/datasets", status_code=201)
def log_dataset(run_id: Name, body: DatasetLinkIn, caller: CallerDep) -> Any:
    with caller:
        run = _active_run(caller, run_id)
        run.log_dataset(body.dataset_version, body.context)
        return {"run_id": run_id, "dataset_version": body.dataset_version}
