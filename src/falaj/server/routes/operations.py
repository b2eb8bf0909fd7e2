"""Production: deployments and their rollouts (``deployment.*``), and monitoring results
(``monitoring.*``). Thin: parse, call ``ws.serving`` / ``ws.monitoring`` in the request scope,
render; the services authorize."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from falaj.server.auth import CallerDep
from falaj.server.routes.common import ModelName, Name, json_of

__all__ = ["router"]

router = APIRouter(tags=["deployments", "monitoring"])

_Ref = Annotated[str, Query(min_length=1, max_length=100)]
_Since = Annotated[str, Query(min_length=2, max_length=20, pattern=r"^\d+[smhdw]$")]


class DeploymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    model: str = Field(min_length=1, max_length=300, description="NAME@ALIAS or NAME/VERSION")
    routing_key: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class RolloutActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


@router.get("/deployments")
def list_deployments(caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.serving.list_deployments())


@router.post("/deployments", status_code=201)
def create_deployment(body: DeploymentIn, caller: CallerDep) -> Any:
    """A deployment serving ``model`` at 100 %, pinned to the version's digest."""
    with caller:
        return json_of(
            caller.ws.serving.create_deployment(
                body.name, body.model, routing_key=body.routing_key, description=body.description
            )
        )


@router.get("/deployments/{name}")
def get_deployment(name: Name, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.serving.get_deployment(name))


@router.get("/deployments/{name}/rollout")
def get_rollout(name: Name, caller: CallerDep) -> Any:
    """The deployment's rollout with every decision and its evidence."""
    with caller:
        return json_of(caller.ws.serving.get_rollout(name))


@router.post("/deployments/{name}/rollout/{action}")
def act_on_rollout(
    name: Name,
    action: Literal["pause", "resume", "promote", "rollback"],
    body: RolloutActionIn,
    caller: CallerDep,
) -> Any:
    """Pause, resume, promote or roll back the running rollout by hand (audited, with reason)."""
    with caller:
        serving = caller.ws.serving
        act = {
            "pause": serving.pause,
            "resume": serving.resume,
            "promote": serving.promote,
            "rollback": serving.rollback,
        }[action]
        return json_of(act(name, reason=body.reason))


@router.get("/models/{name}/monitoring/results")
def monitoring_results(
    name: ModelName,
    caller: CallerDep,
    kind: Literal["drift", "performance"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Stored drift and performance results of the model, newest first (the trend)."""
    with caller:
        return json_of(caller.ws.monitoring.results(name, kind=kind, limit=limit))


@router.post("/models/{name}/monitoring/drift")
def check_drift(
    name: ModelName, caller: CallerDep, ref: _Ref = "champion", since: _Since = "1d"
) -> Any:
    """Drift of the version's logged inputs over the last ``since`` against its training data
    (recorded as a result)."""
    from falaj.monitoring.windows import parse_duration

    with caller:
        window = parse_duration(since)
        outcome = caller.ws.monitoring.drift(name, _ref(ref), since=window)
        return json_of(outcome.as_dict())


@router.post("/models/{name}/monitoring/performance")
def check_performance(
    name: ModelName, caller: CallerDep, ref: _Ref = "champion", since: _Since = "1d"
) -> Any:
    """The task's metrics over labelled predictions of the last ``since`` (recorded)."""
    from falaj.monitoring.windows import parse_duration

    with caller:
        window = parse_duration(since)
        outcome = caller.ws.monitoring.performance(name, _ref(ref), since=window)
        return json_of(outcome.as_dict())


@router.get("/monitoring/alerts")
def list_alerts(
    caller: CallerDep,
    monitor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    with caller:
        alerts = caller.ws.monitoring.monitors.alerts(monitor, limit=limit)
        return json_of([a.as_dict() for a in alerts])


def _ref(text: str) -> int | str:
    return int(text) if text.isdigit() else text
