"""The one way Falaj reads YAML: bounded in size, nesting and alias expansion.

Every YAML document the project reads (expectation suites, pipeline specs, HPO search specs,
gate policies, MLflow ``MLmodel`` files) goes through :func:`load_yaml` or :func:`compose_yaml`.
Before anything is built, the document's event stream is scanned (iteratively, so depth cannot
exhaust the Python stack) and refused when it:

- is larger than ``max_bytes`` (checked on the file's size before it is read);
- nests collections deeper than ``max_depth`` (a 50,000-level ``[[[[...`` would otherwise end in
  a ``RecursionError`` inside PyYAML's recursive composer);
- expands, counting every alias as a full copy of its anchor, to more than ``max_nodes`` values
  (the "billion laughs": a 1 KB file of nested aliases that stands for billions of values).

Only PyYAML's safe loader builds objects (plain scalars, lists and mappings; no Python tags).
Errors name the source, the line and column, and what was expected; they never echo more than a
short, truncated excerpt of the input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from falaj.errors import InvalidInputError, preview

__all__ = [
    "DEFAULT_LIMITS",
    "YamlError",
    "YamlLimits",
    "compose_yaml",
    "load_yaml",
    "read_yaml_file",
]


class YamlError(InvalidInputError):
    """A YAML document that is malformed or exceeds the limits of :class:`YamlLimits`."""


ErrorFactory = Callable[[str], Exception]


@dataclass(frozen=True)
class YamlLimits:
    """Bounds on one document; the defaults fit every file Falaj reads with a wide margin."""

    max_bytes: int = 4 * 1024 * 1024
    max_depth: int = 100
    max_nodes: int = 1_000_000


DEFAULT_LIMITS = YamlLimits()


def read_yaml_file(
    path: str | Path,
    *,
    source: str | None = None,
    limits: YamlLimits = DEFAULT_LIMITS,
    error: ErrorFactory = YamlError,
) -> str:
    """The UTF-8 text of ``path``, refusing a file over ``limits.max_bytes`` before reading it.

    ``FileNotFoundError`` passes through (callers map it to their own not-found error); any other
    read problem becomes ``error(...)``.
    """
    file = Path(path)
    label = source or str(file)
    try:
        size = file.stat().st_size
        if size > limits.max_bytes:
            raise error(
                f"{label} is {size:,} bytes; YAML files are limited to {limits.max_bytes:,} bytes"
            )
        with file.open("rb") as handle:
            data = handle.read(limits.max_bytes + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise error(f"{label} cannot be read: {exc.strerror or exc}") from exc
    if len(data) > limits.max_bytes:  # grew while we read it
        raise error(f"{label} is larger than the {limits.max_bytes:,} bytes allowed for YAML files")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{label} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None


def load_yaml(
    text: str,
    *,
    source: str = "<yaml>",
    loader: type[Any] | None = None,
    limits: YamlLimits = DEFAULT_LIMITS,
    error: ErrorFactory = YamlError,
) -> Any:
    """The document in ``text`` built by ``loader`` (a ``yaml.SafeLoader`` subclass), bounded.

    A malformed document or one beyond ``limits`` raises ``error(message)``, where the message
    starts with ``source`` and the line/column of the problem.
    """
    import yaml

    chosen = loader or _fast_loader()
    if not issubclass(chosen, yaml.SafeLoader | _fast_loader()):  # pragma: no cover
        raise TypeError("load_yaml only builds with yaml.SafeLoader or a subclass of it")
    _check(text, source, _fast_loader(), limits, error)
    try:
        return yaml.load(text, Loader=chosen)
    except yaml.YAMLError as exc:
        raise error(_syntax_message(exc, source)) from None


def compose_yaml(
    text: str,
    *,
    source: str = "<yaml>",
    limits: YamlLimits = DEFAULT_LIMITS,
    error: ErrorFactory = YamlError,
) -> Any:
    """The node tree of ``text`` (``yaml.Node`` or ``None``), bounded like :func:`load_yaml`."""
    import yaml

    _check(text, source, _fast_loader(), limits, error)
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise error(_syntax_message(exc, source)) from None


def _fast_loader() -> type[Any]:
    """libyaml's safe loader when PyYAML was built with it (10-50x faster), else PyYAML's."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check(
    text: str, source: str, loader: type[Any], limits: YamlLimits, error: ErrorFactory
) -> None:
    import yaml
    from yaml import events

    if not isinstance(text, str):
        raise error(f"{source}: expected YAML text, got {type(text).__name__}")
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > limits.max_bytes:
        raise error(
            f"{source} is {size:,} bytes; YAML documents are limited to {limits.max_bytes:,}"
        )
    # Per open collection: (anchor or None, node count when it opened, deepest depth inside).
    stack: list[list[Any]] = []
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (expanded node count, own depth)
    total = 0

    def where(event: Any) -> str:
        mark = event.start_mark
        return f"{source}, line {mark.line + 1}, column {mark.column + 1}"

    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, events.StreamStartEvent | events.DocumentStartEvent):
                continue
            if isinstance(event, events.DocumentEndEvent):
                sizes.clear()  # anchors do not cross documents
                continue
            if isinstance(event, events.CollectionEndEvent):
                anchor, start, inner = stack.pop()
                if anchor is not None:
                    sizes[anchor] = (total - start, inner - len(stack))
                if stack:
                    stack[-1][2] = max(stack[-1][2], inner)
                continue
            if isinstance(event, events.AliasEvent):
                if any(entry[0] == event.anchor for entry in stack):
                    raise error(
                        f"{where(event)}: alias *{preview(event.anchor, 40)} refers to a "
                        "collection that contains it; expected a document without cycles"
                    )
                count, depth = sizes.get(event.anchor or "", (1, 0))
                total += count
                reach = len(stack) + depth
            elif isinstance(event, events.CollectionStartEvent):
                total += 1
                stack.append([event.anchor, total - 1, len(stack) + 1])
                reach = len(stack)
            elif isinstance(event, events.ScalarEvent):
                total += 1
                if event.anchor is not None:
                    sizes[event.anchor] = (1, 0)
                reach = len(stack)
            else:
                continue
            if reach > limits.max_depth:
                raise error(
                    f"{where(event)}: nesting is deeper than {limits.max_depth} levels; "
                    "expected a shallower document"
                )
            if stack:
                stack[-1][2] = max(stack[-1][2], reach)
            if total > limits.max_nodes:
                raise error(
                    f"{where(event)}: the document expands to more than {limits.max_nodes:,} "
                    "values (aliases count once per use); expected a smaller document without "
                    "nested aliases"
                )
    except yaml.YAMLError as exc:
        raise error(_syntax_message(exc, source)) from None


def _syntax_message(exc: Any, source: str) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    if not problem:
        problem = preview(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 200)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    opened = ""
    if context and context_mark is not None and context_mark is not mark and problem != context:
        opened = f" ({context} started at line {context_mark.line + 1})"
    return f"{source}{where}: not valid YAML: {problem}{opened}"
