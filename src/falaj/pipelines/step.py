"""``@step``: a plain Python function plus how Falaj should run it.

Outside a pipeline a step is just its function (call it, test it). Inside a ``@pipeline``
function, calling a step adds it to the graph and returns :class:`OutputHandle` objects that
carry the data dependency to the steps they are passed to.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import marshal
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, overload

from falaj.pipelines.errors import PipelineDefinitionError, PipelineNotFoundError

__all__ = ["OutputHandle", "Resources", "Step", "StepOptions", "import_object", "step"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,199}$")
_MEMORY_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2}
_MEMORY_UNITS.update({"mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3})
_CONTEXT_NAMES = ("ctx", "context")


@dataclass(frozen=True)
class Resources:
    """What one execution of the step needs (passed to Ray as num_cpus/num_gpus/memory)."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory: int | None = None  # bytes

    @classmethod
    def parse(cls, value: Resources | Mapping[str, Any] | None, *, step: str) -> Resources:
        if value is None:
            return cls()
        if isinstance(value, Resources):
            return value
        if not isinstance(value, Mapping):
            raise PipelineDefinitionError(
                f"step {step!r}: resources {value!r} is invalid; expected a mapping with "
                "cpus, gpus and/or memory"
            )
        unknown = set(value) - {"cpus", "gpus", "memory"}
        if unknown:
            raise PipelineDefinitionError(
                f"step {step!r}: unknown resources {sorted(unknown)}; expected cpus, gpus, memory"
            )
        cpus = _non_negative(value.get("cpus", 1.0), "resources.cpus", step)
        gpus = _non_negative(value.get("gpus", 0.0), "resources.gpus", step)
        memory = _memory(value.get("memory"), step)
        return cls(cpus=cpus, gpus=gpus, memory=memory)


def _non_negative(value: Any, field_name: str, step: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PipelineDefinitionError(
            f"step {step!r}: {field_name}={value!r} is invalid; expected a number >= 0"
        )
    return float(value)


def _memory(value: Any, step: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", value)
        if match and match.group(2).lower() in _MEMORY_UNITS:
            return int(float(match.group(1)) * _MEMORY_UNITS[match.group(2).lower()])
    raise PipelineDefinitionError(
        f"step {step!r}: resources.memory={value!r} is invalid; expected bytes (int) or a size "
        "like '512MiB' or '2GB'"
    )


@dataclass(frozen=True)
class StepOptions:
    """How to run a step: retries with exponential backoff, timeout, caching, resources."""

    retries: int = 0
    retry_backoff: float = 1.0
    timeout: float | None = None
    cache: bool = True
    trusted: bool = False
    resources: Resources = field(default_factory=Resources)
    outputs: tuple[str, ...] = ("output",)

    @classmethod
    def build(cls, step: str, **options: Any) -> StepOptions:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(options) - known
        if unknown:
            raise PipelineDefinitionError(
                f"step {step!r}: unknown option(s) {sorted(unknown)}; expected {sorted(known)}"
            )
        retries = options.get("retries", 0)
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise PipelineDefinitionError(
                f"step {step!r}: retries={retries!r} is invalid; expected an integer >= 0"
            )
        backoff = _non_negative(options.get("retry_backoff", 1.0), "retry_backoff", step)
        timeout = options.get("timeout")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
        ):
            raise PipelineDefinitionError(
                f"step {step!r}: timeout={timeout!r} is invalid; expected seconds > 0 or None"
            )
        for flag in ("cache", "trusted"):
            if not isinstance(options.get(flag, False), bool):
                raise PipelineDefinitionError(
                    f"step {step!r}: {flag}={options[flag]!r} is invalid; expected true or false"
                )
        outputs = options.get("outputs", ("output",))
        if isinstance(outputs, str):
            outputs = (outputs,)
        if not isinstance(outputs, list | tuple):
            raise PipelineDefinitionError(
                f"step {step!r}: outputs={outputs!r} is invalid; expected a name or a list of "
                "distinct identifier names"
            )
        outputs = tuple(outputs)
        if (
            not outputs
            or len(set(outputs)) != len(outputs)
            or not all(isinstance(o, str) and o.isidentifier() for o in outputs)
        ):
            raise PipelineDefinitionError(
                f"step {step!r}: outputs={list(outputs)!r} is invalid; expected distinct "
                "identifier names"
            )
        return cls(
            retries=retries,
            retry_backoff=backoff,
            timeout=float(timeout) if timeout is not None else None,
            cache=options.get("cache", True),
            trusted=options.get("trusted", False),
            resources=Resources.parse(options.get("resources"), step=step),
            outputs=outputs,
        )


@dataclass(frozen=True)
class OutputHandle:
    """A reference to one output of a step inside a pipeline being built."""

    step: str
    output: str = "output"

    def __str__(self) -> str:
        return f"{self.step}.{self.output}"


class Step:
    """A function wrapped by :func:`step`."""

    def __init__(self, fn: Callable[..., Any], name: str, options: StepOptions) -> None:
        if not callable(fn):
            raise PipelineDefinitionError(f"step {name!r}: {fn!r} is not callable")
        if not _NAME.match(name):
            raise PipelineDefinitionError(
                f"step name {name!r} is invalid; expected letters, digits, '_', '-', '.'"
            )
        self.fn = fn
        self.name = name
        self.options = options
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    # -- identity ------------------------------------------------------------------------------
    @property
    def function(self) -> str:
        """``module:qualname`` of the wrapped function."""
        return f"{self.fn.__module__}:{self.fn.__qualname__}"

    @cached_property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.fn)

    @cached_property
    def context_param(self) -> str | None:
        """The parameter that receives the :class:`~falaj.pipelines.context.StepContext`."""
        for p in self.signature.parameters.values():
            annotation = p.annotation
            if isinstance(annotation, str) and annotation.rsplit(".", 1)[-1] == "StepContext":
                return p.name
            if getattr(annotation, "__name__", None) == "StepContext":
                return p.name
        for name in _CONTEXT_NAMES:
            if name in self.signature.parameters:
                return name
        return None

    @cached_property
    def code_hash(self) -> str:
        """sha256 of the function's source (bytecode when the source is unavailable)."""
        try:
            source = textwrap.dedent(inspect.getsource(self.fn))
            payload = source.encode("utf-8")
        except (OSError, TypeError):
            code = getattr(self.fn, "__code__", None)
            payload = marshal.dumps(code) if code is not None else repr(self.fn).encode()
        return hashlib.sha256(payload).hexdigest()

    # -- variants ------------------------------------------------------------------------------
    def named(self, name: str) -> Step:
        """The same step under another node name (to use one function twice in a pipeline)."""
        return Step(self.fn, name, self.options)

    def with_options(self, **options: Any) -> Step:
        """The same step with some options changed (same validation as ``@step``)."""
        merged = {
            "retries": self.options.retries,
            "retry_backoff": self.options.retry_backoff,
            "timeout": self.options.timeout,
            "cache": self.options.cache,
            "trusted": self.options.trusted,
            "resources": self.options.resources,
            "outputs": self.options.outputs,
        }
        merged.update(options)
        return Step(self.fn, self.name, StepOptions.build(self.name, **merged))

    # -- calling -------------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from falaj.pipelines.graph import current_builder

        builder = current_builder()
        if builder is None:
            return self.fn(*args, **kwargs)
        return builder.add(self, args, kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle by reference (module + attribute) so process pools and Ray workers import the
        # user's module, unless the step lives in __main__ (then the function goes by value).
        if self.fn.__module__ == "__main__" or "<locals>" in self.fn.__qualname__:
            return (Step, (self.fn, self.name, self.options))
        return (_restore_step, (self.fn.__module__, self.fn.__qualname__, self.name, self.options))

    def __repr__(self) -> str:
        return f"Step({self.name!r}, {self.function})"


def _restore_step(module: str, qualname: str, name: str, options: StepOptions) -> Step:
    obj = import_object(f"{module}:{qualname}")
    fn = obj.fn if isinstance(obj, Step) else obj
    return Step(fn, name, options)


def import_object(reference: str) -> Any:
    """``package.module:attr.path`` → the object (PipelineNotFoundError when it is not there)."""
    module_name, sep, attr_path = reference.partition(":")
    if not sep or not module_name or not attr_path:
        raise PipelineNotFoundError(
            f"reference {reference!r} is invalid; expected 'package.module:attribute'"
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise PipelineNotFoundError(
            f"reference {reference!r}: module {module_name!r} cannot be imported ({exc})"
        ) from exc
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PipelineNotFoundError(
                f"reference {reference!r}: {module_name!r} has no attribute {attr_path!r}"
            ) from None
    return obj


@overload
def step(fn: Callable[..., Any], /) -> Step: ...


@overload
def step(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    retry_backoff: float = 1.0,
    timeout: float | None = None,
    cache: bool = True,
    trusted: bool = False,
    resources: Mapping[str, Any] | Resources | None = None,
    outputs: tuple[str, ...] | list[str] | str = ("output",),
) -> Callable[[Callable[..., Any]], Step]: ...


def step(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    retry_backoff: float = 1.0,
    timeout: float | None = None,
    cache: bool = True,
    trusted: bool = False,
    resources: Mapping[str, Any] | Resources | None = None,
    outputs: tuple[str, ...] | list[str] | str = ("output",),
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Declare a pipeline step: ``@step`` or ``@step(retries=2, timeout=60, cache=False, ...)``.

    - ``retries``/``retry_backoff``: re-run a failing step, waiting ``backoff * 2**n`` seconds.
    - ``timeout``: stop the step after this many seconds (it then runs in a child process).
    - ``cache``: skip the step when code, parameters and input digests match a successful run.
    - ``trusted``: allow outputs that only pickle can store (never for untrusted code).
    - ``resources``: ``{"cpus": 2, "gpus": 1, "memory": "4GiB"}`` (used by the Ray executor).
    - ``outputs``: names of the outputs when the function returns a tuple.
    """

    def wrap(func: Callable[..., Any]) -> Step:
        if isinstance(func, Step):
            func = func.fn
        step_name = str(name or getattr(func, "__name__", "step"))
        options = StepOptions.build(
            step_name,
            retries=retries,
            retry_backoff=retry_backoff,
            timeout=timeout,
            cache=cache,
            trusted=trusted,
            resources=resources,
            outputs=outputs,
        )
        return Step(func, step_name, options)

    if fn is not None:
        return wrap(fn)
    return wrap


def as_step(obj: Any, *, where: str) -> Step:
    """``obj`` as a Step (plain functions get default options)."""
    if isinstance(obj, Step):
        return obj
    if callable(obj):
        return Step(obj, getattr(obj, "__name__", "step"), StepOptions())
    raise PipelineDefinitionError(f"{where}: {obj!r} is not a step or a function")
