"""YAML pipeline specs (reviewable in git) and loading a pipeline from its source.

A spec names each step's function by import path, its parameters, its wiring and options::

    name: credit
    params: {seed: 7}            # optional defaults, overridable at run time
    steps:
      load:
        uses: my_project.steps:load_data
        params: {rows: 1000, seed: "${seed}"}
      train:
        uses: my_project.steps:train
        inputs: {df: load}         # or load.<output name>
        options: {retries: 2, timeout: 600, resources: {cpus: 2}}

A pipeline's *source* is either such a file's path or ``module:attr`` naming a ``@pipeline``
function (or a built :class:`Pipeline`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from falaj.errors import preview
from falaj.pipelines.errors import (
    PipelineCycleError,
    PipelineDefinitionError,
    PipelineNotFoundError,
)
from falaj.pipelines.graph import Pipeline, PipelineDef, building
from falaj.pipelines.step import OutputHandle, Step, as_step, import_object

__all__ = ["check_params", "load_pipeline", "load_spec", "parse_spec"]

_STEP_KEYS = {"uses", "params", "inputs", "options"}
_TOP_KEYS = {"name", "params", "steps", "description"}
_PARAM_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def check_params(params: Any) -> dict[str, Any]:
    """Pipeline parameters as a dict; anything but a mapping with string keys is refused."""
    if params is None:
        return {}
    if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
        raise PipelineDefinitionError(
            f"params {preview(params)} is invalid; expected a mapping of parameter names to values"
        )
    return dict(params)


def load_pipeline(
    source: str,
    params: Mapping[str, Any] | None = None,
    *,
    allowed_modules: Iterable[str] = (),
) -> Pipeline:
    """Build the pipeline named by ``source`` (a YAML path or ``module:attr``).

    ``allowed_modules`` applies to YAML specs: see :func:`parse_spec`.
    """
    params = check_params(params)
    if source.endswith((".yaml", ".yml")) or Path(source).is_file():
        return load_spec(source, params, allowed_modules=allowed_modules)
    obj = import_object(source)
    if isinstance(obj, PipelineDef):
        built = obj.build(**params)
        built.source = source
        return built
    if isinstance(obj, Pipeline):
        if params:
            raise PipelineDefinitionError(
                f"pipeline source {source!r} is an already built Pipeline; it takes no params "
                f"(got {sorted(params)})"
            )
        if obj.source is None:
            obj.source = source
        return obj
    raise PipelineNotFoundError(
        f"pipeline source {source!r} is a {type(obj).__name__}; expected a @pipeline function, "
        "a Pipeline or a YAML spec path"
    )


def load_spec(
    path: str | Path,
    params: Mapping[str, Any] | None = None,
    *,
    allowed_modules: Iterable[str] = (),
) -> Pipeline:
    """Read a YAML spec file into a :class:`Pipeline` (``allowed_modules``: see parse_spec)."""
    from falaj.yamlsafe import load_yaml, read_yaml_file

    file = Path(path)
    if not file.is_file():
        raise PipelineNotFoundError(f"pipeline spec {file} does not exist")
    label = f"pipeline spec {file}"
    try:
        text = read_yaml_file(file, source=label, error=PipelineDefinitionError)
    except FileNotFoundError:
        raise PipelineNotFoundError(f"pipeline spec {file} does not exist") from None
    data = load_yaml(text, source=label, error=PipelineDefinitionError)
    pipe = parse_spec(data, params, where=str(file), allowed_modules=allowed_modules)
    pipe.source = str(file.absolute())
    return pipe


def parse_spec(
    data: Any,
    params: Mapping[str, Any] | None = None,
    *,
    where: str = "<spec>",
    allowed_modules: Iterable[str] = (),
) -> Pipeline:
    """Build a :class:`Pipeline` from an already parsed spec mapping.

    A spec is data, and data must not choose arbitrary code to run: each ``uses:`` must name an
    object decorated with ``@step``. A plain function is accepted only when its module is one of
    ``allowed_modules`` or inside one of them (the ``step_modules`` setting, chosen by whoever
    runs the workspace, never by the spec).
    """
    allowed = tuple(allowed_modules)
    if not isinstance(data, Mapping):
        raise PipelineDefinitionError(f"{where}: expected a mapping with 'name' and 'steps'")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise PipelineDefinitionError(
            f"{where}: unknown key(s) {sorted(unknown)}; expected {sorted(_TOP_KEYS)}"
        )
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise PipelineDefinitionError(
            f"{where}: 'name' must be a non-empty string, got {preview(name)}"
        )
    defaults = data.get("params") or {}
    if not isinstance(defaults, Mapping):
        raise PipelineDefinitionError(
            f"{where}: 'params' must be a mapping, got {preview(defaults)}"
        )
    extra = set(params or {}) - set(defaults)
    if extra:
        raise PipelineDefinitionError(
            f"{where}: unknown pipeline parameter(s) {sorted(extra)}; the spec declares "
            f"{sorted(defaults)}"
        )
    values = {**defaults, **(params or {})}
    steps = data.get("steps")
    if not isinstance(steps, Mapping) or not steps:
        raise PipelineDefinitionError(f"{where}: 'steps' must be a non-empty mapping of steps")
    specs = {str(k): _check_step(str(k), v, where) for k, v in steps.items()}
    order = _spec_order(specs, name)
    with building() as builder:
        for step_name in order:
            spec = specs[step_name]
            step_obj = _resolve(step_name, spec, where, allowed)
            kwargs: dict[str, Any] = {
                k: _substitute(v, values, step_name) for k, v in spec["params"].items()
            }
            for arg, ref in spec["inputs"].items():
                up, _, output = str(ref).partition(".")
                outputs = builder.nodes[up].step.options.outputs
                if not output:
                    if len(outputs) != 1:
                        raise PipelineDefinitionError(
                            f"step {step_name!r}: input {arg!r}={ref!r} is ambiguous; step "
                            f"{up!r} has outputs {list(outputs)} (write {up}.<output>)"
                        )
                    output = outputs[0]
                kwargs[arg] = OutputHandle(up, output)
            builder.add(step_obj, (), kwargs, node_name=step_name)
    return Pipeline(name, builder.nodes, params=dict(values))


def _check_step(step_name: str, spec: Any, where: str) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        raise PipelineDefinitionError(
            f"{where}: step {step_name!r} must be a mapping with 'uses', got {preview(spec)}"
        )
    unknown = set(spec) - _STEP_KEYS
    if unknown:
        raise PipelineDefinitionError(
            f"{where}: step {step_name!r} has unknown key(s) {sorted(unknown)}; expected "
            f"{sorted(_STEP_KEYS)}"
        )
    uses = spec.get("uses")
    if not isinstance(uses, str) or ":" not in uses:
        raise PipelineDefinitionError(
            f"{where}: step {step_name!r}: 'uses' must be 'package.module:function', "
            f"got {preview(uses)}"
        )
    out: dict[str, Any] = {"uses": uses}
    for key in ("params", "inputs", "options"):
        value = spec.get(key) or {}
        if not isinstance(value, Mapping):
            raise PipelineDefinitionError(
                f"{where}: step {step_name!r}: {key!r} must be a mapping, got {preview(value)}"
            )
        out[key] = dict(value)
    return out


def _spec_order(specs: Mapping[str, dict[str, Any]], pipeline_name: str) -> list[str]:
    deps: dict[str, set[str]] = {}
    for step_name, spec in specs.items():
        ups: set[str] = set()
        for arg, ref in spec["inputs"].items():
            up = str(ref).partition(".")[0]
            if up not in specs:
                raise PipelineDefinitionError(
                    f"step {step_name!r}: input {arg!r} refers to unknown step {up!r} "
                    f"(steps: {', '.join(specs)})"
                )
            ups.add(up)
        deps[step_name] = ups
    order: list[str] = []
    remaining = {k: set(v) for k, v in deps.items()}
    while remaining:
        ready = [n for n, d in remaining.items() if not d]
        if not ready:
            from falaj.pipelines.graph import _find_cycle

            cycle = _find_cycle(remaining)
            raise PipelineCycleError(
                f"pipeline {pipeline_name!r} has a cycle: {' -> '.join(cycle)}"
            )
        for n in ready:
            order.append(n)
            del remaining[n]
        for d in remaining.values():
            d.difference_update(ready)
    return order


def _resolve(step_name: str, spec: Mapping[str, Any], where: str, allowed: tuple[str, ...]) -> Step:
    uses = spec["uses"]
    module_name = uses.partition(":")[0]
    top = module_name.partition(".")[0]
    if (top in sys.stdlib_module_names or top == "builtins") and not _is_allowed(
        module_name, allowed
    ):
        # Importing runs module code (``antigravity`` opens a browser): the standard library
        # holds no @step, so it is refused before anything is imported.
        raise PipelineDefinitionError(
            f"{where}: step {step_name!r}: 'uses' {preview(uses)} names the standard library "
            f"module {preview(module_name)}; a spec may only use functions decorated with @step"
        )
    try:
        obj = import_object(uses)
    except PipelineNotFoundError as exc:
        raise PipelineDefinitionError(f"{where}: step {step_name!r}: unknown step: {exc}") from exc
    module = getattr(obj, "__module__", None) or ""
    if not isinstance(obj, Step) and not (callable(obj) and _is_allowed(module, allowed)):
        raise PipelineDefinitionError(
            f"{where}: step {step_name!r}: 'uses' {preview(uses)} is not a @step; a spec may "
            "only use functions decorated with @step, or plain functions of the modules listed "
            "in the step_modules setting (FALAJ_STEP_MODULES)"
            + (f", which allows {', '.join(allowed)}" if allowed else ", which is empty")
        )
    base = as_step(obj, where=f"{where}: step {step_name!r}")
    step_obj = base.named(step_name) if base.name != step_name else base
    if spec["options"]:
        step_obj = step_obj.with_options(**spec["options"])
    return step_obj


def _is_allowed(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in allowed)


def _substitute(value: Any, values: Mapping[str, Any], step_name: str) -> Any:
    if isinstance(value, str):
        match = _PARAM_REF.match(value)
        if match:
            key = match.group(1)
            if key not in values:
                raise PipelineDefinitionError(
                    f"step {step_name!r}: parameter reference {value!r} names no pipeline "
                    f"parameter (declared: {sorted(values)})"
                )
            return values[key]
    return value
