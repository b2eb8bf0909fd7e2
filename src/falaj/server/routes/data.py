"""Datasets: list, versions, upload (CSV or Parquet, streamed to disk), download (Parquet)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from falaj.governance.authorization import Action
from falaj.governance.context import machinery
from falaj.server.auth import CallerDep
from falaj.server.routes.common import Name, json_of
from falaj.server.uploads import iter_file, spool

__all__ = ["router"]

router = APIRouter(tags=["datasets"])

DatasetVersion = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get("/datasets")
def list_datasets(caller: CallerDep) -> Any:
    """The latest version of every dataset."""
    with caller:
        return json_of(caller.ws.datasets.latest_versions())


@router.get("/datasets/{name}")
def dataset_versions(name: Name, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.datasets.versions(name))


@router.get("/datasets/{name}/versions/{version}")
def get_dataset(name: Name, version: DatasetVersion, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.datasets.get(name, version))


@router.get("/datasets/{name}/versions/{version}/data")
def download_dataset(name: Name, version: DatasetVersion, caller: CallerDep) -> StreamingResponse:
    """The version's rows as stored (Parquet)."""
    with caller:
        dv = caller.ws.datasets.get(name, version)
        with machinery():
            info = caller.ws.artifacts.info(dv.artifact_digest)
            handle = caller.ws.artifacts.open(dv.artifact_digest)
    return StreamingResponse(
        iter_file(handle),
        media_type="application/vnd.apache.parquet",
        headers={"x-falaj-digest": info.digest, "content-length": str(info.size)},
    )


@router.post("/datasets/{name}", status_code=201)
async def register_dataset(
    name: Name,
    request: Request,
    caller: CallerDep,
    format: Annotated[Literal["csv", "parquet"], Query()] = "csv",
    description: Annotated[str, Query(max_length=10_000)] | None = None,
) -> Any:
    """Register the request body (a CSV or Parquet file) as a new version of ``name``."""
    from falaj.data.sources import CsvSource, ParquetSource

    def authorize() -> None:
        with caller:
            caller.ws.datasets.authorize(Action.DATASET_REGISTER, "dataset", name)

    await run_in_threadpool(authorize)
    path = await spool(request.stream(), suffix=f".{format}")

    def register() -> Any:
        source = CsvSource(str(path)) if format == "csv" else ParquetSource(str(path))
        with caller:
            return json_of(caller.ws.datasets.register(name, source, description=description))

    try:
        return await run_in_threadpool(register)
    finally:
        path.unlink(missing_ok=True)


@router.get("/datasets/{name}/versions/{version}/validation")
def validation_status(name: Name, version: DatasetVersion, caller: CallerDep) -> Any:
    """The status of the version's latest validation (passed, warned, failed, or null)."""
    with caller:
        return {"status": caller.ws.datasets.validation_status(f"{name}@{version}")}
