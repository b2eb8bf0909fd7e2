"""Serving the UI: the ASGI app with ``/ui`` mounted, and a server running in a thread.

``falaj ui`` runs :func:`build_asgi` under uvicorn; the demo and scripts use
:func:`running_ui`, which starts uvicorn on a socket it binds itself (port 0: a free one, no
race) and returns once the server reports it is started.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from falaj.errors import BackendUnavailableError
from falaj.ui.auth import Authenticator
from falaj.ui.deployments import DeploymentsSource
from falaj.workspace import Workspace

__all__ = ["bind", "build_asgi", "running_ui"]


def build_asgi(
    ws: Workspace,
    authenticator: Authenticator,
    *,
    deployments: DeploymentsSource | None = None,
    secret: bytes | None = None,
) -> Any:
    """An ASGI app serving the UI under ``/ui`` (``/`` redirects there)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import RedirectResponse, Response
    from starlette.routing import Mount, Route

    from falaj.ui.app import create_ui_app

    async def root(request: Request) -> Response:
        return RedirectResponse("/ui/runs", 303)

    ui = create_ui_app(ws, authenticator, deployments=deployments, secret=secret)
    return Starlette(routes=[Route("/", root), Mount("/ui", app=ui)])


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise BackendUnavailableError(f"cannot listen on {host}:{port}: {exc}") from exc
    sock.listen(128)
    return sock


@contextmanager
def running_ui(
    ws: Workspace,
    authenticator: Authenticator,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    deployments: DeploymentsSource | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[str]:
    """Serve the UI in a background thread for the block; yields its base URL (``.../ui``)."""
    import uvicorn

    sock = bind(host, port)
    actual = sock.getsockname()[1]
    app = build_asgi(ws, authenticator, deployments=deployments)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="falaj-ui", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise BackendUnavailableError(f"the UI did not start on {host}:{actual}")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{actual}/ui"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
