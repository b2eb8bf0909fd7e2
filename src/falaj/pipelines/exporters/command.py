"""The ``falaj step run`` command line an orchestrator task runs for one step."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from falaj.errors import InvalidInputError
from falaj.pipelines.graph import Pipeline

__all__ = ["require_source", "step_command"]


def require_source(pipe: Pipeline) -> str:
    if not pipe.source:
        raise InvalidInputError(
            f"pipeline {pipe.name!r} has no source; export it from a YAML spec or 'module:attr' "
            "so the orchestrator's workers can load it"
        )
    return pipe.source


def step_command(
    pipe: Pipeline,
    step: str,
    run_key: str,
    *,
    falaj: str = "falaj",
    home: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> list[str]:
    """``falaj [--home H] step run SOURCE STEP --run-key KEY [--param k=json ...]``."""
    pipe.node(step)
    argv = [falaj]
    if home:
        argv += ["--home", home]
    argv += ["step", "run", require_source(pipe), step, "--run-key", run_key]
    for key, value in sorted((params if params is not None else pipe.params).items()):
        argv += ["--param", f"{key}={json.dumps(value, separators=(',', ':'))}"]
    return argv
