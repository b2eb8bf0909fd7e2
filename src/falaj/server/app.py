"""The platform's REST API: a FastAPI application over one workspace.

Thin by design: parse (pydantic models with bounded sizes), authenticate (:mod:`.auth`), open
the request scope, call the service (which authorizes and audits), render (:mod:`.errors` for
failures). ``GET /api/v1/health`` is the only endpoint that needs no credential; the OpenAPI
document is ``/api/v1/openapi.json`` (authenticated too; no interactive docs page is served).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from falaj.errors import FalajError
from falaj.governance.identity.errors import AuthenticationError, RateLimitedError
from falaj.server.auth import CallerDep, ServerState
from falaj.server.errors import error_body, status_of
from falaj.server.middleware import AccessLogMiddleware, BodyLimitMiddleware

__all__ = ["API_PREFIX", "create_app", "is_upload"]

API_PREFIX = "/api/v1"
_log = logging.getLogger("falaj.server")


def is_upload(method: str, path: str) -> bool:
    """Bodies streamed to disk by their endpoints (artifacts, run files, dataset files)."""
    if not path.startswith(API_PREFIX):
        return False
    rest = path[len(API_PREFIX) :]
    if method == "PUT" and (
        rest == "/artifacts"
        or (rest.startswith("/runs/") and ("/artifacts/" in rest or "/models/" in rest))
    ):
        return True
    return method == "POST" and rest.startswith("/datasets/") and rest.count("/") == 2


def create_app(state: ServerState) -> FastAPI:
    """The application serving ``state.workspace`` (which must have no default principal)."""
    from falaj.server.routes import (
        artifacts,
        audit,
        data,
        identity,
        operations,
        pipelines,
        registry,
        tracking,
    )

    if state.workspace.context().principal is not None:
        raise FalajError(
            "the server's workspace must have no default principal (Workspace.open_for_server)"
        )
    app = FastAPI(title="Falaj", version="1", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.falaj = state

    health = APIRouter(tags=["health"])

    @health.get("/health")
    def get_health() -> Any:
        """Liveness and readiness: the metadata store answers. No credential needed."""
        try:
            state.workspace.store.get_info("workspace_id")
        except Exception as exc:  # any store failure means not ready
            _log.warning("health check failed: %s", exc)
            return JSONResponse(
                error_body("BackendUnavailableError", "metadata store unavailable"), status_code=503
            )
        return {"status": "ok"}

    @health.get("/openapi.json", include_in_schema=False)
    def get_openapi(caller: CallerDep) -> Any:
        """The OpenAPI document (authenticated like everything but health)."""
        return app.openapi()

    app.include_router(health, prefix=API_PREFIX)
    for module in (identity, tracking, artifacts, registry, data, pipelines, operations, audit):
        app.include_router(module.router, prefix=API_PREFIX)

    @app.exception_handler(FalajError)
    async def falaj_error(request: Request, exc: FalajError) -> JSONResponse:
        status = status_of(exc)
        headers: dict[str, str] = {}
        if isinstance(exc, RateLimitedError):
            headers["Retry-After"] = str(max(1, int(exc.retry_after + 0.999)))
        elif isinstance(exc, AuthenticationError):
            headers["WWW-Authenticate"] = 'Bearer realm="falaj"'
        if status >= 500:
            _log.error("request failed: %s", exc, exc_info=exc)
        return JSONResponse(
            error_body(type(exc).__name__, str(exc)), status_code=status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        ][:20]
        return JSONResponse(
            error_body("InvalidInputError", "; ".join(problems), details=problems[:20]),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            error_body("HTTPError", str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        rid = request.scope.get("state", {}).get("request_id")
        _log.error("unexpected error in request %s", rid, exc_info=exc)
        return JSONResponse(
            error_body("InternalError", f"internal error (request id {rid})"), status_code=500
        )

    app.add_middleware(
        BodyLimitMiddleware,
        max_body=state.max_body,
        max_upload=state.max_upload,
        is_upload=is_upload,
    )
    app.add_middleware(AccessLogMiddleware)
    return app
