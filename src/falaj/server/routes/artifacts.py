"""Artifacts, streamed up and down: content-addressed objects, and files of runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from falaj.errors import NotFoundError
from falaj.governance.authorization import Action
from falaj.server.auth import CallerDep
from falaj.server.routes.common import Name, json_of
from falaj.server.uploads import check_artifact_name, iter_file, spool

__all__ = ["router"]

router = APIRouter(tags=["artifacts"])

Digest = Annotated[str, Path(min_length=1, max_length=80)]
ArtifactPath = Annotated[str, Path(min_length=1, max_length=500)]
_OCTET = "application/octet-stream"


def _media_type(request: Request) -> str:
    value = request.headers.get("content-type") or _OCTET
    return value.split(";")[0].strip()[:100] or _OCTET


@router.put("/artifacts", status_code=201)
async def put_artifact(request: Request, caller: CallerDep) -> Any:
    """Store the request body as a content-addressed artifact (streamed to disk)."""

    def authorize() -> None:
        with caller:
            caller.ws.artifacts.authorize(Action.ARTIFACT_PUT, "artifact", "*")

    await run_in_threadpool(authorize)
    path = await spool(request.stream())

    def store() -> Any:
        with caller:
            return json_of(caller.ws.artifacts.put_file(path, media_type=_media_type(request)))

    try:
        return await run_in_threadpool(store)
    finally:
        path.unlink(missing_ok=True)


@router.get("/artifacts/{digest}")
def get_artifact(digest: Digest, caller: CallerDep) -> StreamingResponse:
    with caller:
        info = caller.ws.artifacts.info(digest)
        handle = caller.ws.artifacts.open(digest)
    return StreamingResponse(
        iter_file(handle),
        media_type=info.media_type,
        headers={"x-falaj-digest": info.digest, "content-length": str(info.size)},
    )


@router.get("/artifacts/{digest}/info")
def artifact_info(digest: Digest, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.artifacts.info(digest))


@router.put("/runs/{run_id}/artifacts/{name:path}", status_code=201)
async def put_run_artifact(
    run_id: Name, name: ArtifactPath, request: Request, caller: CallerDep
) -> Any:
    """Attach the request body to the run as artifact ``name`` (a relative path)."""
    check_artifact_name(name)

    def authorize() -> None:
        with caller:
            caller.ws.tracking.authorize(Action.RUN_LOG_ARTIFACT, "run", run_id)
            caller.ws.tracking.get_run(run_id)  # 404 before any byte is read

    await run_in_threadpool(authorize)
    path = await spool(request.stream())

    def store() -> Any:
        with caller:
            return json_of(caller.ws.tracking.import_artifact(run_id, path, name))

    try:
        return await run_in_threadpool(store)
    finally:
        path.unlink(missing_ok=True)


@router.get("/runs/{run_id}/artifacts/{name:path}")
def get_run_artifact(run_id: Name, name: ArtifactPath, caller: CallerDep) -> StreamingResponse:
    check_artifact_name(name)
    with caller:
        run = caller.ws.tracking.get_run(run_id)
        found = next((a for a in run.artifacts if a.name == name), None)
        if found is None:
            raise NotFoundError(f"run {run_id} has no artifact named {name!r}")
        handle = caller.ws.artifacts.open(found.digest)
    return StreamingResponse(
        iter_file(handle),
        media_type=found.media_type,
        headers={"x-falaj-digest": found.digest, "content-length": str(found.size)},
    )


@router.put("/runs/{run_id}/models/{name}", status_code=201)
async def put_run_model(run_id: Name, name: Name, request: Request, caller: CallerDep) -> Any:
    """Log a model archive packed by the client (``pack_model``); the server checks its
    manifest and stores it, and never deserializes the model."""

    def authorize() -> None:
        with caller:
            caller.ws.tracking.authorize(Action.RUN_LOG_MODEL, "run", run_id)
            caller.ws.tracking.get_run(run_id)

    await run_in_threadpool(authorize)
    path = await spool(request.stream())

    def store() -> Any:
        with caller:
            data = path.read_bytes()
            return json_of(caller.ws.tracking.log_packed_model(run_id, data, name))

    try:
        return await run_in_threadpool(store)
    finally:
        path.unlink(missing_ok=True)
