"""Pure ASGI middleware: request ids, structured access logs, and the body size limit.

The access log writes one record per request on ``falaj.server.access`` (JSON with
``log_format = "json"``): request id, method, path (never the query string or a header, so no
secret is logged), status, duration, client address and the authenticated principal.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from falaj.server.errors import error_body

__all__ = ["AccessLogMiddleware", "BodyLimitMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_log = logging.getLogger("falaj.server.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _answer(send: Send, status: int, body: dict[str, Any], rid: str | None) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    if rid:
        headers.append((b"x-request-id", rid.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class AccessLogMiddleware:
    """Gives every request an id (``X-Request-ID`` when well formed, else a new one), echoes
    it in the response, and logs the request once it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        rid = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            client = scope.get("client")
            _log.info(
                "%s %s %s",
                scope.get("method"),
                scope.get("path"),
                status,
                extra={
                    "request_id": rid,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client": client[0] if client else None,
                    "principal": state.get("principal"),
                },
            )


class BodyLimitMiddleware:
    """Refuses bodies over the limit with 413 before a service sees them.

    Paths starting with one of ``upload_prefixes`` (artifact and dataset uploads, streamed to
    disk by their endpoints) may carry up to ``max_upload`` bytes, counted as they arrive; every
    other body is read here, up to ``max_body`` bytes, and replayed to the application.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        max_upload: int,
        is_upload: Callable[[str, str], bool],
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.is_upload = is_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = scope.get("state", {}).get("request_id")
        upload = self.is_upload(str(scope.get("method")), str(scope.get("path")))
        limit = self.max_upload if upload else self.max_body
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _answer(send, 400, error_body("InvalidInputError", "bad Content-Length"), rid)
                return
            if int(declared) > limit:
                await _too_large(send, limit, rid)
                return
        if upload:
            await self.app(scope, _counting(receive, limit), send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large(send, limit, rid)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send, limit: int, rid: str | None) -> None:
    body = error_body("BodyTooLargeError", f"request body is larger than {limit} bytes")
    await _answer(send, 413, body, rid)


def _counting(receive: Receive, limit: int) -> Receive:
    from falaj.server.errors import BodyTooLargeError

    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLargeError(f"request body is larger than {limit} bytes")
        return message

    return counted
