"""Registered models, versions, approvals and aliases (a PUT on an alias promotes through the
gates: ``model.promote``, its own permission)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from falaj.governance.authorization import Action
from falaj.governance.context import machinery
from falaj.server.auth import CallerDep
from falaj.server.routes.common import ModelName, VersionNumber, json_of
from falaj.server.uploads import iter_file

__all__ = ["router"]

router = APIRouter(tags=["registry"])

VersionRef = Annotated[str, Path(min_length=1, max_length=100)]
Alias = Annotated[str, Path(min_length=1, max_length=100)]


class VersionIn(BaseModel):
    model_uri: Annotated[str, Field(min_length=1, max_length=500)]
    description: Annotated[str, Field(max_length=10_000)] | None = None
    tags: dict[Annotated[str, Field(max_length=250)], Annotated[str, Field(max_length=5000)]] = {}


class ApprovalIn(BaseModel):
    comment: Annotated[str, Field(min_length=1, max_length=5000)]


class AliasIn(BaseModel):
    version: Annotated[int, Field(ge=1, le=2_147_483_647)]
    reason: Annotated[str, Field(min_length=1, max_length=5000)]


def _ref(value: str) -> int | str:
    return int(value) if value.isdigit() and len(value) < 10 else value


@router.get("/models")
def list_models(caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.registry.list_models())


@router.get("/models/{name}")
def get_model(name: ModelName, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.registry.get_model(name))


@router.get("/models/{name}/versions")
def list_versions(name: ModelName, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.registry.list_versions(name))


@router.post("/models/{name}/versions", status_code=201)
def create_version(name: ModelName, body: VersionIn, caller: CallerDep) -> Any:
    """Register a logged model (``runs:/<run_id>/<model name>``) as the next version."""
    with caller:
        version = caller.ws.registry.create_version(
            name, body.model_uri, description=body.description, tags=body.tags or None
        )
        return json_of(version)


@router.get("/models/{name}/versions/{version}")
def get_version(name: ModelName, version: VersionRef, caller: CallerDep) -> Any:
    """A version by number, alias (``champion``) or ``latest``."""
    with caller:
        return json_of(caller.ws.registry.get_version(name, _ref(version)))


@router.get("/models/{name}/versions/{version}/gates")
def check_gates(name: ModelName, version: VersionRef, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.registry.check_gates(name, _ref(version)))


@router.get("/models/{name}/versions/{version}/model")
def download_model(name: ModelName, version: VersionRef, caller: CallerDep) -> StreamingResponse:
    """The version's packed model (``model.load``); the client unpacks it, the server never
    deserializes it."""
    with caller:
        caller.ws.registry.authorize(Action.MODEL_LOAD, "model", name)
        with machinery():
            mv = caller.ws.registry.get_version(name, _ref(version))
            info = caller.ws.artifacts.info(mv.artifact_digest)
            handle = caller.ws.artifacts.open(mv.artifact_digest)
    return StreamingResponse(
        iter_file(handle),
        media_type=info.media_type,
        headers={"x-falaj-digest": info.digest, "content-length": str(info.size)},
    )


@router.get("/models/{name}/versions/{version}/approvals")
def list_approvals(name: ModelName, version: VersionNumber, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.registry.approvals(name, version))


@router.post("/models/{name}/versions/{version}/approvals", status_code=201)
def approve(name: ModelName, version: VersionNumber, body: ApprovalIn, caller: CallerDep) -> Any:
    """Approve the version as the authenticated principal (never its creator)."""
    with caller:
        return json_of(caller.ws.registry.approve(name, version, comment=body.comment))


@router.get("/models/{name}/aliases")
def list_aliases(name: ModelName, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.registry.aliases(name))


@router.put("/models/{name}/aliases/{alias}")
def promote(name: ModelName, alias: Alias, body: AliasIn, caller: CallerDep) -> Any:
    """Move ``alias`` to ``version`` when every gate passes (``model.promote``)."""
    with caller:
        record = caller.ws.registry.promote(name, body.version, alias=alias, reason=body.reason)
        return json_of(record)


@router.get("/models/{name}/promotions")
def list_promotions(name: ModelName, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.registry.promotions(name))


@router.get("/models/{name}/versions/{version}/evidence")
def list_evidence(
    name: ModelName,
    version: VersionNumber,
    caller: CallerDep,
    kind: Annotated[str, Query(max_length=50)] | None = None,
) -> Any:
    with caller:
        return json_of(caller.ws.registry.evidence(name, version, kind=kind))
