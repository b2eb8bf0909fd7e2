"""The uvicorn factory each ``falaj serve`` worker process calls: open the workspace named in
``FALAJ_SERVE_SPEC`` and build the serving app over it (closed when the worker stops)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from falaj.errors import InvalidInputError

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["app_from_env"]


def app_from_env() -> Starlette:
    from falaj.config import Settings
    from falaj.serving.server import SPEC_ENV, ServeSpec, build_serving_app
    from falaj.workspace import Workspace

    raw = os.environ.get(SPEC_ENV)
    if not raw:
        raise InvalidInputError(f"{SPEC_ENV} is not set: start the server with `falaj serve`")
    spec = ServeSpec.from_json(raw)
    overrides = dict(spec.overrides)
    if spec.home is not None:
        overrides["home"] = spec.home
    settings = Settings.load(config_file=spec.config_file, **overrides)
    ws = Workspace.open(settings=settings)
    try:
        return build_serving_app(ws.serving, spec, on_close=ws.close)
    except BaseException:
        ws.close()
        raise
