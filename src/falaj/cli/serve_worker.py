"""The uvicorn factory each ``falaj serve`` worker process calls: open the workspace named in
``FALAJ_SERVE_SPEC`` and build the serving app over it (closed when the worker stops)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from falaj.errors import InvalidInputError

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from falaj.serving.server import ServeSpec
    from falaj.workspace import Workspace

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
        collectors = ws.serving_collectors(_served_models(ws, spec))
        return build_serving_app(ws.serving, spec, collectors=collectors, on_close=ws.close)
    except BaseException:
        ws.close()
        raise


def _served_models(ws: Workspace, spec: ServeSpec) -> list[tuple[str, int | None]]:
    """The models whose drift and metric gauges this server exposes on ``/metrics`` (every
    version of each: the gauges are labelled by version)."""
    if spec.deployment is not None:
        names = {r.model_name for r in ws.serving.get_deployment(spec.deployment).revisions}
    else:
        assert spec.model is not None
        names = {spec.model.replace("@", "/").split("/", 1)[0]}
    return [(name, None) for name in sorted(names)]
