"""Running the model server: ``falaj serve`` with one or several uvicorn workers, or in a thread.

Each worker process opens the workspace itself (from the :class:`ServeSpec` passed in the
``FALAJ_SERVE_SPEC`` environment variable, by ``falaj.cli.serve_worker:app_from_env``, which
sits above the workspace in the layers), loads the model, and serves; with several workers
Prometheus runs in multiprocess mode over a folder of its own.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from falaj.errors import BackendUnavailableError, InvalidInputError

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from falaj.serving.ports import FeedbackSink, PredictionSink
    from falaj.serving.service import ServingService

__all__ = ["SPEC_ENV", "ServeSpec", "ServerThread", "build_serving_app", "serve"]

SPEC_ENV = "FALAJ_SERVE_SPEC"


@dataclass(frozen=True)
class ServeSpec:
    """What each worker needs to build its app: which workspace, what to serve, the limits."""

    home: str | None = None
    config_file: str | None = None
    model: str | None = None
    deployment: str | None = None
    trusted: bool = False
    max_body_bytes: int = 8 * 1024 * 1024
    poll_interval_s: float = 2.0
    report_interval_s: float = 5.0
    explain_background: str | None = None
    #: a feature service: requests may send entity keys, its features are looked up online
    features: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.model is None) == (self.deployment is None):
            raise InvalidInputError(
                "serve exactly one thing: a model (NAME@ALIAS or NAME/VERSION) or --deployment NAME"
            )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeSpec:
        return cls(**json.loads(text))


def build_serving_app(
    serving: ServingService,
    spec: ServeSpec,
    *,
    prediction_sink: PredictionSink | None = None,
    feedback_sink: FeedbackSink | None = None,
    collectors: tuple[Any, ...] = (),
    on_close: Callable[[], None] | None = None,
) -> Starlette:
    """The app for ``spec`` over an open workspace's ``ws.serving``."""
    from falaj.serving.app import ServerOptions, build_app
    from falaj.serving.replica import Replica, RevisionSource
    from falaj.serving.sources import DeploymentSource, ModelSource

    factory = None
    if spec.explain_background is not None:
        build = serving.links.explainer
        if build is None:
            raise InvalidInputError("explanations need the training area, which is not wired here")
        background = spec.explain_background

        def factory(name: str, version: int) -> Any:
            return build(name, version, background)

    enrich = None
    if spec.features is not None:
        from falaj.serving.runtime import feature_enricher

        lookup = serving.links.feature_lookup
        if lookup is None:
            raise InvalidInputError("--features needs the feature store, which is not wired here")
        enrich = feature_enricher(lookup(spec.features))  # a clear error now if unknown
    source: RevisionSource
    if spec.deployment is not None:
        source = DeploymentSource(
            serving,
            spec.deployment,
            trusted=spec.trusted,
            explainer_factory=factory,
            enrich=enrich,
        )
        serving.get_deployment(spec.deployment)  # a clear error now, not a never-ready server
    else:
        assert spec.model is not None
        source = ModelSource(
            serving.links.catalog(),
            spec.model,
            trusted=spec.trusted,
            explainer_factory=factory,
            enrich=enrich,
        )
    options = ServerOptions(spec.max_body_bytes, spec.poll_interval_s, spec.report_interval_s)
    app = build_app(
        Replica(source),
        options=options,
        prediction_sink=prediction_sink or serving.links.prediction_sink(),
        feedback_sink=feedback_sink or serving.links.feedback_sink(),
        collectors=collectors,
        on_close=on_close,
    )
    return app


def serve(
    spec: ServeSpec,
    factory: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
) -> None:
    """Run the server in the foreground until interrupted; each worker calls ``factory``
    (``module:function``, which reads the spec from ``FALAJ_SERVE_SPEC``) to build its app."""
    import uvicorn

    if workers < 1:
        raise InvalidInputError(f"workers {workers} is invalid: expected 1 or more")
    if not 0 < port < 65536:
        raise InvalidInputError(f"port {port} is invalid: expected 1-65535")
    os.environ[SPEC_ENV] = spec.to_json()
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="falaj-prom-")
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        loop="auto",
        http="auto",
    )


class ServerThread:
    """A real uvicorn server on a background thread (the demo and in-process tests use it)."""

    def __init__(self, app: Starlette, *, host: str = "127.0.0.1", port: int = 0) -> None:
        import socket

        import uvicorn

        if port == 0:
            with socket.socket() as probe:
                probe.bind((host, 0))
                port = int(probe.getsockname()[1])
        self.host, self.port = host, port
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="falaj-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 60.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise BackendUnavailableError(f"the model server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def home_of(path: str | Path | None) -> str | None:
    return None if path is None else str(Path(path).expanduser().absolute())
