"""Pipelines as DAGs built from data dependencies, and ``@pipeline`` composition."""

from __future__ import annotations

import contextvars
import inspect
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from falaj.errors import preview
from falaj.pipelines.errors import (
    PipelineCycleError,
    PipelineDefinitionError,
    StepNotFoundError,
)
from falaj.pipelines.step import OutputHandle, Step

__all__ = [
    "Pipeline",
    "PipelineDef",
    "StepNode",
    "current_builder",
    "pipeline",
]

_BUILDER: contextvars.ContextVar[_Builder | None] = contextvars.ContextVar(
    "falaj_pipeline_builder", default=None
)


def current_builder() -> _Builder | None:
    """The pipeline under construction in this context, if any."""
    return _BUILDER.get()


@dataclass(frozen=True)
class StepNode:
    """One step in a pipeline: its function, its literal parameters and its wired inputs."""

    name: str
    step: Step
    params: dict[str, Any]
    inputs: dict[str, OutputHandle]

    @property
    def upstream(self) -> set[str]:
        return {h.step for h in self.inputs.values()}

    def describe(self) -> dict[str, Any]:
        o = self.step.options
        return {
            "function": self.step.function,
            "params": self.params,
            "inputs": {k: str(h) for k, h in self.inputs.items()},
            "outputs": list(o.outputs),
            "options": {
                "retries": o.retries,
                "retry_backoff": o.retry_backoff,
                "timeout": o.timeout,
                "cache": o.cache,
                "trusted": o.trusted,
                "resources": {
                    "cpus": o.resources.cpus,
                    "gpus": o.resources.gpus,
                    "memory": o.resources.memory,
                },
            },
        }


@dataclass
class Pipeline:
    """A validated DAG of steps. ``source`` says how another process can rebuild it."""

    name: str
    nodes: dict[str, StepNode]
    params: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    def __post_init__(self) -> None:
        self.order = self._topological_order()

    def node(self, name: str) -> StepNode:
        try:
            return self.nodes[name]
        except KeyError:
            raise StepNotFoundError(
                f"pipeline {self.name!r} has no step {name!r} (steps: {', '.join(self.nodes)})"
            ) from None

    def downstream(self, name: str) -> set[str]:
        return {n.name for n in self.nodes.values() if name in n.upstream}

    def _topological_order(self) -> list[str]:
        for node in self.nodes.values():
            for arg, handle in node.inputs.items():
                if handle.step not in self.nodes:
                    raise PipelineDefinitionError(
                        f"step {node.name!r}: input {arg!r} refers to unknown step "
                        f"{handle.step!r} (steps: {', '.join(self.nodes)})"
                    )
                outputs = self.nodes[handle.step].step.options.outputs
                if handle.output not in outputs:
                    raise PipelineDefinitionError(
                        f"step {node.name!r}: input {arg!r} refers to output {handle.output!r} "
                        f"of step {handle.step!r}, which has outputs {list(outputs)}"
                    )
        remaining = {name: set(node.upstream) for name, node in self.nodes.items()}
        order: list[str] = []
        while remaining:
            ready = [n for n, deps in remaining.items() if not deps]
            if not ready:
                cycle = _find_cycle(remaining)
                raise PipelineCycleError(
                    f"pipeline {self.name!r} has a cycle: {' -> '.join(cycle)}"
                )
            for n in ready:
                order.append(n)
                del remaining[n]
            for deps in remaining.values():
                deps.difference_update(ready)
        return order

    def describe(self) -> dict[str, Any]:
        """JSON-safe description (stored with each run, used by the exporters)."""
        return {
            "name": self.name,
            "order": list(self.order),
            "steps": {name: self.nodes[name].describe() for name in self.order},
        }


def _find_cycle(remaining: Mapping[str, set[str]]) -> list[str]:
    """One cycle among nodes none of which is ready, as a closed path of step names."""
    start = sorted(remaining)[0]
    path = [start]
    seen = {start: 0}
    current = start
    while True:
        current = sorted(remaining[current])[0]
        if current in seen:
            cycle = path[seen[current] :]
            return [*cycle, current]
        seen[current] = len(path)
        path.append(current)


class _Builder:
    """Collects steps while a ``@pipeline`` function runs."""

    def __init__(self) -> None:
        self.nodes: dict[str, StepNode] = {}

    def add(
        self,
        step_obj: Step,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        node_name: str | None = None,
    ) -> OutputHandle | tuple[OutputHandle, ...]:
        name = node_name or self._unique(step_obj.name)
        if name in self.nodes:
            raise PipelineDefinitionError(f"step name {name!r} is used twice in the pipeline")
        sig = step_obj.signature
        ctx_param = step_obj.context_param
        if ctx_param is not None and ctx_param in kwargs:
            raise PipelineDefinitionError(
                f"step {name!r}: argument {ctx_param!r} is filled by Falaj with the step context"
            )
        params_sig = sig.replace(
            parameters=[p for p in sig.parameters.values() if p.name != ctx_param]
        )
        try:
            bound = params_sig.bind(*args, **kwargs)
        except TypeError as exc:
            raise PipelineDefinitionError(f"step {name!r}: bad arguments: {exc}") from None
        bound.apply_defaults()
        params: dict[str, Any] = {}
        inputs: dict[str, OutputHandle] = {}
        for arg, value in bound.arguments.items():
            kind = params_sig.parameters[arg].kind
            if kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                raise PipelineDefinitionError(
                    f"step {name!r}: *args/**kwargs ({arg!r}) are not supported in steps; "
                    "name each argument"
                )
            if isinstance(value, OutputHandle):
                if value.step not in self.nodes:
                    raise PipelineDefinitionError(
                        f"step {name!r}: argument {arg!r} is an output of {value.step!r}, which "
                        "is not part of this pipeline"
                    )
                inputs[arg] = value
            elif _contains_handle(value):
                raise PipelineDefinitionError(
                    f"step {name!r}: argument {arg!r} nests step outputs in a container; pass "
                    "each output as its own argument"
                )
            else:
                params[arg] = _json_param(value, name, arg)
        self.nodes[name] = StepNode(name=name, step=step_obj, params=params, inputs=inputs)
        outputs = step_obj.options.outputs
        if len(outputs) == 1:
            return OutputHandle(name, outputs[0])
        return tuple(OutputHandle(name, o) for o in outputs)

    def _unique(self, base: str) -> str:
        if base not in self.nodes:
            return base
        i = 2
        while f"{base}_{i}" in self.nodes:
            i += 1
        return f"{base}_{i}"


def _contains_handle(value: Any) -> bool:
    """True when an OutputHandle sits anywhere inside ``value``.

    Iterative, and each container is visited once (by identity): a deep structure cannot exhaust
    the stack, and a structure that shares sub-lists (what YAML aliases build) costs its number of
    distinct containers, not its exponential expansion.
    """
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, OutputHandle):
            return True
        if isinstance(item, list | tuple | set | dict):
            if id(item) in seen:
                continue
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
    return False


MAX_PARAM_VALUES = 1_000_000
"""A step parameter holds at most this many values, counting shared sub-lists once per use."""


def _json_param(value: Any, step_name: str, arg: str) -> Any:
    count, stack = 0, [value]
    while stack:  # bounded walk: a structure sharing sub-lists may expand exponentially
        item = stack.pop()
        count += 1
        if count > MAX_PARAM_VALUES:
            raise PipelineDefinitionError(
                f"step {step_name!r}: parameter {arg!r} holds more than {MAX_PARAM_VALUES:,} "
                "values (shared or nested lists counted in full); pass large data as a step "
                "input or a dataset instead"
            )
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set):
            stack.extend(item)
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        raise PipelineDefinitionError(
            f"step {step_name!r}: parameter {arg!r}={preview(value)} is not JSON-serializable "
            f"({preview(str(exc), 120)}); "
            "parameters are recorded and hashed for caching, so pass plain values"
        ) from None


@contextmanager
def building() -> Iterator[_Builder]:
    builder = _Builder()
    token = _BUILDER.set(builder)
    try:
        yield builder
    finally:
        _BUILDER.reset(token)


class PipelineDef:
    """A function decorated with ``@pipeline``; calling it builds a :class:`Pipeline`.

    Called inside another pipeline, it composes: its steps join the outer pipeline and its
    return value (handles) flows on.
    """

    def __init__(self, fn: Callable[..., Any], name: str) -> None:
        self.fn = fn
        self.name = name
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    @property
    def source(self) -> str:
        return f"{self.fn.__module__}:{self.fn.__qualname__}"

    def build(self, **params: Any) -> Pipeline:
        sig = inspect.signature(self.fn)
        try:
            bound = sig.bind(**params)
        except TypeError as exc:
            raise PipelineDefinitionError(
                f"pipeline {self.name!r}: bad parameters {sorted(params)}: {exc}"
            ) from None
        bound.apply_defaults()
        with building() as builder:
            self.fn(*bound.args, **bound.kwargs)
        if not builder.nodes:
            raise PipelineDefinitionError(f"pipeline {self.name!r} calls no step")
        recorded = {k: _json_param(v, self.name, k) for k, v in bound.arguments.items()}
        return Pipeline(self.name, builder.nodes, params=recorded, source=self.source)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if current_builder() is not None:
            return self.fn(*args, **kwargs)
        if args:
            raise PipelineDefinitionError(
                f"pipeline {self.name!r}: pass parameters by name (got {len(args)} positional)"
            )
        return self.build(**kwargs)

    def __repr__(self) -> str:
        return f"PipelineDef({self.name!r}, {self.source})"


def pipeline(fn: Callable[..., Any] | None = None, /, *, name: str | None = None) -> Any:
    """Declare a pipeline: a function that calls steps; the DAG follows their data."""

    def wrap(func: Callable[..., Any]) -> PipelineDef:
        return PipelineDef(func, name or func.__name__)

    if fn is not None:
        return wrap(fn)
    return wrap
