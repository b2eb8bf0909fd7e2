"""The online lookup over HTTP: a small Starlette app the platform and model servers can mount.

``POST /features/online`` with ``{"entities": {"customer_id": [1, 2]}, "features":
["cust_stats:balance"]}`` (or ``"features": "credit_model"``, a feature service) answers
``{"columns": {"customer_id": [1, 2], "balance": [...], "cust_stats__fresh": [...]}}``.
``GET /features/freshness`` lists each view's watermark and staleness. Input mistakes answer
400 (404 for unknown names, 403 when refused) with ``{"error": "..."}``; no traceback.

The app calls the workspace's feature store as the workspace's principal; a server that
authenticates requests mounts it behind its own authentication (which opens a request scope).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import orjson

from falaj.errors import FalajError, InvalidInputError, NotFoundError, PermissionDeniedError

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from falaj.features.service import FeatureStoreService

__all__ = ["app"]

_MAX_BODY = 1024 * 1024


class HasFeatures(Protocol):
    """Anything with a ``features`` feature store (a Workspace)."""

    @property
    def features(self) -> FeatureStoreService: ...


def _json(payload: Any, status: int = 200) -> Response:
    from starlette.responses import Response

    return Response(
        orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY, default=str),
        status_code=status,
        media_type="application/json",
    )


def _error(exc: FalajError) -> Response:
    status = 500
    if isinstance(exc, PermissionDeniedError):
        status = 403
    elif isinstance(exc, NotFoundError):
        status = 404
    elif isinstance(exc, InvalidInputError):
        status = 400
    return _json({"error": str(exc)}, status)


def app(ws: HasFeatures) -> Starlette:
    """The Starlette app serving ``ws.features`` (mount it at ``/`` or under a prefix)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.routing import Route

    async def online(request: Request) -> Response:
        body = await request.body()
        if len(body) > _MAX_BODY:
            return _json({"error": f"body is larger than {_MAX_BODY} bytes"}, 413)
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return _json({"error": f"body is not JSON: {exc}"}, 400)
        if not isinstance(doc, dict) or not isinstance(doc.get("entities"), dict):
            return _json(
                {
                    "error": 'body is invalid: expected {"entities": {key: [values]}, '
                    '"features": ["view:feature"] or "service"}'
                },
                400,
            )
        features = doc.get("features")
        if not isinstance(features, str | list):
            return _json({"error": "features is invalid: expected a list or a service name"}, 400)
        try:
            # store reads block: keep them off the event loop
            columns = await run_in_threadpool(ws.features.read_online, doc["entities"], features)
        except FalajError as exc:
            return _error(exc)
        return _json({"columns": columns})

    def freshness(request: Request) -> Response:
        try:
            return _json({"views": [f.as_dict() for f in ws.features.freshness()]})
        except FalajError as exc:
            return _error(exc)

    return Starlette(
        routes=[
            Route("/features/online", online, methods=["POST"]),
            Route("/features/freshness", freshness, methods=["GET"]),
        ]
    )
