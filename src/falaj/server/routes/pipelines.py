"""Pipeline runs (read-only over the API; pipelines run where their code lives)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from falaj.server.auth import CallerDep
from falaj.server.routes.common import Name, json_of

__all__ = ["router"]

router = APIRouter(tags=["pipelines"])

Status = Literal["RUNNING", "SUCCEEDED", "FAILED", "running", "succeeded", "failed"]


@router.get("/pipelines")
def list_pipeline_runs(
    caller: CallerDep,
    pipeline: Annotated[str, Query(max_length=200)] | None = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Any:
    """Pipeline runs, newest first."""
    with caller:
        return json_of(caller.ws.pipelines.list_runs(pipeline=pipeline, status=status, limit=limit))


@router.get("/pipelines/runs/{run_id}")
def get_pipeline_run(run_id: Name, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.pipelines.get_run(run_id))
