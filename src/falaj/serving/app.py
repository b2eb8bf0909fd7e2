"""The model server: a Starlette ASGI app speaking the Open Inference Protocol v2.

Endpoints: ``GET /v2/health/live``, ``GET /v2/health/ready`` (200 once a revision is loaded),
``GET /v2/models/{name}`` (metadata), ``POST /v2/models/{name}/infer`` (one named tensor per
column; outputs ``predict`` and, for classifiers, ``predict_proba``), ``POST /predict`` (JSON
records), ``POST /explain`` (per-row contributions when an explainer is loaded, else 501),
``POST /v2/models/{name}/feedback`` (to the FeedbackSink, else 501) and ``GET /metrics``.

Every answer carries the request ``id`` (the body's, the ``x-request-id`` header's or a new one).
Bad input gets a 4xx naming the problem; an unexpected model error gets a 500 with the request id
and no traceback, and the server keeps serving.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from falaj.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from falaj.serving.errors import InferenceInputError, PayloadTooLargeError
from falaj.serving.metrics import ServerMetrics
from falaj.serving.ports import FeedbackSink, PredictionSink
from falaj.serving.replica import Replica, Snapshot, Ticker
from falaj.serving.runtime import Answer, ModelRuntime

__all__ = ["ServerOptions", "build_app"]

_log = logging.getLogger("falaj.serving")


@dataclass(frozen=True)
class ServerOptions:
    """Limits and intervals of one server."""

    max_body_bytes: int = 8 * 1024 * 1024
    poll_interval_s: float = 2.0
    report_interval_s: float = 5.0


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def _status(exc: Exception) -> int:
    if isinstance(exc, PayloadTooLargeError):
        return 413
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, InvalidInputError):
        return 400
    if isinstance(exc, PermissionDeniedError):
        return 403
    return 500


class _Server:
    def __init__(
        self,
        replica: Replica,
        options: ServerOptions,
        prediction_sink: PredictionSink | None,
        feedback_sink: FeedbackSink | None,
        metrics: ServerMetrics,
    ) -> None:
        self.replica = replica
        self.options = options
        self.sink = prediction_sink
        self.feedback_sink = feedback_sink
        self.metrics = metrics
        self._children: dict[tuple[Any, ...], tuple[Any, Any, Any]] = {}

    # -- plumbing ------
    async def body(self, request: Request) -> Any:
        limit = self.options.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLargeError(
                f"request body of {int(declared)} bytes is over the server's limit of {limit} bytes"
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLargeError(
                    f"request body is over the server's limit of {limit} bytes"
                )
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw:
            raise InferenceInputError("the request has no body: expected JSON")
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InferenceInputError(f"the request body is not valid JSON: {exc}") from None

    def snapshot(self, name: str | None = None) -> Snapshot:
        snap = self.replica.snapshot
        if snap is None:
            raise _NotReady()
        if name is not None and name not in (snap.model_name, snap.deployment):
            raise NotFoundError(
                f"model {name!r} is not served here: this server serves "
                f"{snap.deployment or snap.model_name!r}"
            )
        return snap

    def error(self, exc: Exception, request_id: str) -> JSON:
        if isinstance(exc, _NotReady):
            return JSON({"error": "no model is loaded yet", "id": request_id}, status_code=503)
        status = _status(exc)
        if status >= 500:
            _log.exception("request %s failed", request_id, exc_info=exc)
            message = f"internal error while predicting (request id {request_id})"
        else:
            message = str(exc)
        return JSON({"error": message, "id": request_id}, status_code=status)

    def children(self, runtime: ModelRuntime, snap: Snapshot) -> tuple[Any, Any, Any]:
        """The revision's metric children, looked up once per revision."""
        key = (snap.deployment, runtime.revision_id, runtime.model_name, runtime.model_version)
        found = self._children.get(key)
        if found is None:
            labels = self.labels(runtime, snap)
            found = self._children[key] = (
                self.metrics.requests.labels(*labels),
                self.metrics.latency.labels(*labels),
                self.metrics.rows.labels(*labels),
            )
        return found

    def labels(self, runtime: ModelRuntime, snap: Snapshot) -> tuple[str, str, str, str]:
        return (
            snap.deployment or "",
            runtime.revision_id or "",
            runtime.model_name,
            str(runtime.model_version),
        )

    # -- inference ------
    def answer(
        self,
        snap: Snapshot,
        request_id: str,
        key: str | None,
        decode: Callable[[ModelRuntime], Any],
    ) -> tuple[ModelRuntime, Answer, list[ModelRuntime], Any, float]:
        runtime, shadows = self.replica.route(snap, request_id, key)
        started = time.perf_counter()
        try:
            frame = decode(runtime)
            answer = runtime.infer(frame)
        except Exception as exc:
            elapsed = (time.perf_counter() - started) * 1000
            kind = "client" if _status(exc) < 500 else "server"
            self.metrics.errors.labels(*self.labels(runtime, snap), kind).inc()
            self.replica.observe(runtime, elapsed, error=kind == "server", answer=None)
            raise
        elapsed = (time.perf_counter() - started) * 1000
        requests, latency, rows = self.children(runtime, snap)
        requests.inc()
        latency.observe(elapsed / 1000)
        rows.inc(len(frame))
        self.replica.observe(runtime, elapsed, error=False, answer=answer)
        return runtime, answer, shadows, frame, elapsed

    def after(
        self,
        snap: Snapshot,
        request_id: str,
        runtime: ModelRuntime,
        answer: Answer,
        shadows: list[ModelRuntime],
        frame: Any,
        latency_ms: float,
    ) -> BackgroundTask | None:
        if not shadows and self.sink is None:
            return None

        def work() -> None:
            at = dt.datetime.now(dt.UTC)
            if self.sink is not None:
                self.sink.log(
                    request_id=request_id,
                    model=runtime.model_name,
                    version=runtime.model_version,
                    deployment=snap.deployment,
                    revision=runtime.revision_id,
                    inputs=frame,
                    outputs=answer.outputs(),
                    latency_ms=latency_ms,
                    at=at,
                    shadow=False,
                )
            for shadow in shadows:
                self.replica.shadow(shadow, frame, answer)

        return BackgroundTask(work)

    def routing_key(self, snap: Snapshot, request: Request, body: Any) -> str | None:
        key = snap.routing_key
        if key is None:
            return None
        if key.source == "header":
            return request.headers.get(key.name)
        if isinstance(body, dict):
            params = body.get("parameters")
            if isinstance(params, dict) and key.name in params:
                return str(params[key.name])
            for tensor in body.get("inputs") or []:
                if (
                    isinstance(tensor, dict)
                    and tensor.get("name") == key.name
                    and tensor.get("data")
                ):
                    return str(tensor["data"][0])
            if key.name in body:
                return str(body[key.name])
        if isinstance(body, list) and body and isinstance(body[0], dict) and key.name in body[0]:
            return str(body[0][key.name])
        return None


class _NotReady(Exception):
    pass


def _request_id(request: Request, body: Any = None) -> str:
    if isinstance(body, dict) and isinstance(body.get("id"), str) and body["id"]:
        return str(body["id"])[:200]
    header = request.headers.get("x-request-id")
    return header[:200] if header else uuid.uuid4().hex


def build_app(
    replica: Replica,
    *,
    options: ServerOptions | None = None,
    prediction_sink: PredictionSink | None = None,
    feedback_sink: FeedbackSink | None = None,
    collectors: Iterable[Any] = (),
    background: bool = True,
    on_close: Callable[[], None] | None = None,
) -> Starlette:
    """The ASGI app over ``replica``. With ``background`` the app loads the replica's revisions
    at start-up, then polls for changes and reports its counts on threads of its own."""
    opts = options or ServerOptions()
    server = _Server(replica, opts, prediction_sink, feedback_sink, ServerMetrics(collectors))

    async def live(request: Request) -> Response:
        return JSON({"live": True})

    async def ready(request: Request) -> Response:
        if replica.ready:
            return JSON({"ready": True})
        return JSON({"ready": False, "error": replica.last_error}, status_code=503)

    async def model_ready(request: Request) -> Response:
        try:
            server.snapshot(request.path_params["name"])
        except Exception as exc:
            return server.error(exc, _request_id(request))
        return JSON({"name": request.path_params["name"], "ready": True})

    async def metadata(request: Request) -> Response:
        rid = _request_id(request)
        try:
            snap = server.snapshot(request.path_params["name"])
            return JSON(snap.primary().metadata())
        except Exception as exc:
            return server.error(exc, rid)

    async def infer(request: Request) -> Response:
        rid = _request_id(request)
        try:
            snap = server.snapshot(request.path_params["name"])
            body = await server.body(request)
            rid = _request_id(request, body)
            if not isinstance(body, dict):
                raise InferenceInputError("expected a JSON object with 'inputs'")
            key = server.routing_key(snap, request, body)
            runtime, answer, shadows, frame, ms = server.answer(
                snap, rid, key, lambda rt: rt.frame_from_v2(body.get("inputs"))
            )
        except Exception as exc:
            return server.error(exc, rid)
        payload = {
            "id": rid,
            "model_name": runtime.model_name,
            "model_version": str(runtime.model_version),
            "outputs": answer.v2_outputs(),
            "parameters": {"revision": runtime.revision_id},
        }
        task = server.after(snap, rid, runtime, answer, shadows, frame, ms)
        return JSON(payload, background=task)

    async def predict(request: Request) -> Response:
        rid = _request_id(request)
        try:
            snap = server.snapshot()
            body = await server.body(request)
            rid = _request_id(request, body)
            key = server.routing_key(snap, request, body)
            runtime, answer, shadows, frame, ms = server.answer(
                snap, rid, key, lambda rt: rt.frame_from_records(body)
            )
        except Exception as exc:
            return server.error(exc, rid)
        payload: dict[str, Any] = {
            "id": rid,
            "model_name": runtime.model_name,
            "model_version": str(runtime.model_version),
            "revision": runtime.revision_id,
            "predictions": answer.predict,
        }
        if answer.proba is not None:
            payload["probabilities"] = answer.proba
        task = server.after(snap, rid, runtime, answer, shadows, frame, ms)
        return JSON(payload, background=task)

    async def explain(request: Request) -> Response:
        rid = _request_id(request)
        try:
            snap = server.snapshot()
            runtime = snap.primary()
            if runtime.explainer is None:
                return JSON(
                    {
                        "error": "explanations are not enabled on this server: start it with "
                        "--explain-background DATASET (a dataset of typical inputs)",
                        "id": rid,
                    },
                    status_code=501,
                )
            body = await server.body(request)
            rid = _request_id(request, body)
            frame = runtime.frame_from_records(body)
            rows = [runtime.explainer.explain_one(frame.iloc[[i]]) for i in range(len(frame))]
        except Exception as exc:
            return server.error(exc, rid)
        return JSON({"id": rid, "model_name": runtime.model_name, "contributions": rows})

    async def feedback(request: Request) -> Response:
        rid = _request_id(request)
        if feedback_sink is None:
            return JSON(
                {
                    "error": "feedback is not wired on this server (no monitoring feedback sink)",
                    "id": rid,
                },
                status_code=501,
            )
        try:
            server.snapshot(request.path_params["name"])
            body = await server.body(request)
            items = body if isinstance(body, list) else [body]
            pairs: list[tuple[str, Any]] = []
            for i, item in enumerate(items):
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    raise InferenceInputError(
                        f'feedback item {i} is invalid: expected {{"id": REQUEST_ID, "label": ...}}'
                    )
                if "label" not in item:
                    raise InferenceInputError(f"feedback item {i} has no 'label'")
                pairs.append((item["id"], item["label"]))
            attached = await run_in_threadpool(feedback_sink.feedback, pairs)
        except Exception as exc:
            return server.error(exc, rid)
        return JSON({"id": rid, "received": len(pairs), "attached": attached})

    async def metrics(request: Request) -> Response:
        return Response(server.metrics.render(), media_type="text/plain; version=0.0.4")

    tickers: list[Ticker] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if background:
            import anyio.to_thread

            try:
                await anyio.to_thread.run_sync(replica.refresh)
            except Exception as exc:  # stays not-ready; the poller retries
                replica.last_error = f"{type(exc).__name__}: {exc}"
                _log.error("no revision could be loaded: %s", exc)
            tickers.append(Ticker(opts.poll_interval_s, _poll(replica), "falaj-serving-poll"))
            tickers.append(Ticker(opts.report_interval_s, replica.report, "falaj-serving-report"))
            for t in tickers:
                t.start()
        try:
            yield
        finally:
            for t in tickers:
                t.stop()
            if background:
                replica.report()
            if prediction_sink is not None:
                prediction_sink.flush()
            if on_close is not None:
                on_close()

    routes = [
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route("/v2/models/{name}/ready", model_ready, methods=["GET"]),
        Route("/v2/models/{name}", metadata, methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}", metadata, methods=["GET"]),
        Route("/v2/models/{name}/infer", infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}/infer", infer, methods=["POST"]),
        Route("/v2/models/{name}/feedback", feedback, methods=["POST"]),
        Route("/predict", predict, methods=["POST"]),
        Route("/invocations", predict, methods=["POST"]),
        Route("/explain", explain, methods=["POST"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.replica = replica
    return app


def _poll(replica: Replica) -> Callable[[], None]:
    def poll() -> None:
        try:
            replica.refresh(force=not replica.ready)
        except Exception as exc:
            replica.last_error = f"{type(exc).__name__}: {exc}"

    return poll
