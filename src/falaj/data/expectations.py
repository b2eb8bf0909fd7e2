"""Declarative expectations: what a dataset must look like, in YAML or Python.

A suite lists column expectations (type, nullability, range, allowed values, uniqueness,
regex), row checks across columns (``end >= start``), a row-count range and freshness (the
newest value of a timestamp column is at most ``max_age`` old)::

    suite: loans
    row_count: {min: 100, max: 1000000}
    strict: false              # true: columns not listed here are an error
    columns:
      amount: {type: float, nullable: false, min: 0}
      purpose: {type: str, in: [car, home, education]}
      email: {type: str, regex: '^[^@]+@[^@]+$', unique: true}
      opened: {type: datetime}
    checks:
      - {name: closes_after_opening, expr: "closed >= opened"}
    freshness: {column: opened, max_age: 2d}

A malformed file raises :class:`~falaj.data.errors.ExpectationFileError` naming the file, the
line and the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from falaj.data.errors import ExpectationFileError
from falaj.data.row_expr import parse_expression
from falaj.errors import preview

__all__ = ["TYPES", "ColumnSpec", "Freshness", "RowCheck", "Suite", "load_suite"]

TYPES = ("int", "float", "number", "str", "bool", "datetime", "date")
_COLUMN_KEYS = ("type", "nullable", "required", "unique", "min", "max", "in", "regex")
_SUITE_KEYS = ("suite", "columns", "checks", "row_count", "freshness", "strict")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class ColumnSpec:
    """Expectations on one column; ``allowed`` is the YAML key ``in``."""

    name: str
    type: str | None = None
    nullable: bool = True
    required: bool = True
    unique: bool = False
    min: Any = None
    max: Any = None
    allowed: tuple[Any, ...] | None = None
    regex: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in _COLUMN_KEYS:
            value = getattr(self, "allowed" if key == "in" else key)
            if value is not None:
                out[key] = list(value) if key == "in" else value
        return out


@dataclass(frozen=True)
class RowCheck:
    """A check every row must pass, over several columns (``end >= start``)."""

    name: str
    expr: str


@dataclass(frozen=True)
class Freshness:
    column: str
    max_age: dt.timedelta


@dataclass(frozen=True)
class Suite:
    name: str
    columns: tuple[ColumnSpec, ...] = ()
    checks: tuple[RowCheck, ...] = ()
    row_count_min: int | None = None
    row_count_max: int | None = None
    freshness: Freshness | None = None
    strict: bool = False
    source: str = field(default="<python>", compare=False)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "suite": self.name,
            "strict": self.strict,
            "columns": {c.name: c.as_dict() for c in self.columns},
            "checks": [{"name": c.name, "expr": c.expr} for c in self.checks],
        }
        if self.row_count_min is not None or self.row_count_max is not None:
            out["row_count"] = {"min": self.row_count_min, "max": self.row_count_max}
        if self.freshness is not None:
            out["freshness"] = {
                "column": self.freshness.column,
                "max_age": f"{int(self.freshness.max_age.total_seconds())}s",
            }
        return out

    @property
    def digest(self) -> str:
        """sha256 of the suite's canonical JSON (what was checked, independent of formatting)."""
        text = json.dumps(self.as_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<dict>") -> Suite:
        return _Builder(source).suite(data)

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<yaml>") -> Suite:
        return _Builder(source).suite(_load_yaml(text, source))

    @classmethod
    def from_file(cls, path: str | Path) -> Suite:
        from falaj.yamlsafe import read_yaml_file

        file = Path(path)
        try:
            text = read_yaml_file(
                file, source=f"expectation file {file}", error=ExpectationFileError
            )
        except FileNotFoundError:
            raise ExpectationFileError(
                f"expectation file {file} cannot be read: No such file or directory"
            ) from None
        return cls.from_yaml(text, source=str(file))


def load_suite(suite: Suite | str | Path | dict[str, Any]) -> Suite:
    """A suite from a Suite, a YAML file path, YAML text, or a dict."""
    if isinstance(suite, Suite):
        return suite
    if isinstance(suite, dict):
        return Suite.from_dict(suite)
    if isinstance(suite, Path):
        return Suite.from_file(suite)
    if isinstance(suite, str):
        if "\n" not in suite and suite.strip().endswith((".yaml", ".yml")):
            return Suite.from_file(suite)
        return Suite.from_yaml(suite)
    raise ExpectationFileError(
        f"suite of type {type(suite).__name__} is invalid: expected a Suite, a YAML path or "
        "text, or a dict"
    )


# -- YAML with line numbers ---------------------------------------------------------------------
class _Lines:
    """Mixin recording the 1-based line of the node and of each key's value."""

    line: int = 0
    lines: dict[Any, int]


class _LineDict(dict[Any, Any], _Lines):
    pass


class _LineList(list[Any], _Lines):
    pass


def _load_yaml(text: str, source: str) -> Any:
    import yaml

    from falaj.yamlsafe import load_yaml

    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available

    class Loader(base):  # type: ignore[misc]
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _LineDict:
        out = _LineDict()
        out.line, out.lines = node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                raise ExpectationFileError(
                    f"{source}, line {key_node.start_mark.line + 1}: key {preview(key)} "
                    "appears twice"
                )
            out[key] = loader.construct_object(value_node, deep=True)
            out.lines[key] = value_node.start_mark.line + 1
        return out

    def construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> _LineList:
        out = _LineList(loader.construct_object(child, deep=True) for child in node.value)
        out.line = node.start_mark.line + 1
        out.lines = {i: child.start_mark.line + 1 for i, child in enumerate(node.value)}
        return out

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return load_yaml(text, source=source, loader=Loader, error=ExpectationFileError)


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, container: Any, key: Any, path: str, problem: str) -> ExpectationFileError:
        line = None
        if isinstance(container, _Lines):
            line = container.lines.get(key, container.line) if key is not None else container.line
        where = f"{self.source}, line {line}" if line else self.source
        return ExpectationFileError(f"{where}: {path}: {problem}")

    def mapping(self, value: Any, parent: Any, key: Any, path: str) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise self.fail(parent, key, path, f"expected a mapping, got {preview(value)}")
        return value

    def known(self, data: dict[Any, Any], allowed: tuple[str, ...], path: str) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail(
                    data,
                    key,
                    f"{path}.{key}" if path else str(key),
                    f"unknown key (expected one of {', '.join(allowed)})",
                )

    def suite(self, data: Any) -> Suite:
        if not isinstance(data, dict):
            raise ExpectationFileError(
                f"{self.source}: an expectation suite must be a mapping with keys "
                f"{', '.join(_SUITE_KEYS)}; got {type(data).__name__}"
            )
        self.known(data, _SUITE_KEYS, "")
        name = data.get("suite", "suite")
        if not isinstance(name, str) or not name.strip():
            raise self.fail(data, "suite", "suite", f"expected a name, got {name!r}")
        columns_raw = self.mapping(data.get("columns", {}), data, "columns", "columns")
        columns = tuple(self.column(str(k), v, columns_raw) for k, v in columns_raw.items())
        checks_raw = data.get("checks", [])
        if not isinstance(checks_raw, list):
            raise self.fail(data, "checks", "checks", f"expected a list, got {preview(checks_raw)}")
        checks = tuple(self.check(i, c, checks_raw) for i, c in enumerate(checks_raw))
        lo, hi = self.row_count(data)
        strict = data.get("strict", False)
        if not isinstance(strict, bool):
            raise self.fail(data, "strict", "strict", f"expected true or false, got {strict!r}")
        return Suite(
            name=name.strip(),
            columns=columns,
            checks=checks,
            row_count_min=lo,
            row_count_max=hi,
            freshness=self.freshness(data),
            strict=strict,
            source=self.source,
        )

    def column(self, name: str, raw: Any, parent: Any) -> ColumnSpec:
        path = f"columns.{name}"
        spec = self.mapping({} if raw is None else raw, parent, name, path)
        self.known(spec, _COLUMN_KEYS, path)
        kind = spec.get("type")
        if kind is not None and kind not in TYPES:
            raise self.fail(spec, "type", f"{path}.type", f"got {kind!r}, expected one of {TYPES}")
        flags: dict[str, bool] = {}
        for flag, default in (("nullable", True), ("required", True), ("unique", False)):
            value = spec.get(flag, default)
            if not isinstance(value, bool):
                raise self.fail(spec, flag, f"{path}.{flag}", f"expected true/false, got {value!r}")
            flags[flag] = value
        bounds: dict[str, Any] = {}
        for bound in ("min", "max"):
            value = spec.get(bound)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float | str | dt.date)
            ):
                raise self.fail(
                    spec, bound, f"{path}.{bound}", f"expected a number or date, got {value!r}"
                )
            if isinstance(value, str) and kind in ("int", "float", "number"):
                raise self.fail(spec, bound, f"{path}.{bound}", f"expected a number, got {value!r}")
            bounds[bound] = value
        lo, hi = bounds["min"], bounds["max"]
        comparable = type(lo) is type(hi) or (_is_number(lo) and _is_number(hi))
        if lo is not None and hi is not None and comparable and lo > hi:
            raise self.fail(spec, "max", f"{path}.max", f"{hi!r} is below min {lo!r}")
        allowed = spec.get("in")
        if allowed is not None and not isinstance(allowed, list):
            raise self.fail(
                spec, "in", f"{path}.in", f"expected a list of values, got {preview(allowed)}"
            )
        if kind == "str" and allowed is not None and any(isinstance(v, bool) for v in allowed):
            booleans = [v for v in allowed if isinstance(v, bool)]
            raise self.fail(
                spec,
                "in",
                f"{path}.in",
                f"holds the booleans {booleans!r} but the column is type: str; YAML reads "
                "unquoted yes/no/on/off/true/false as booleans: quote them (in: ['yes', 'no'])",
            )
        regex = spec.get("regex")
        if regex is not None:
            try:
                re.compile(regex)
            except (re.error, TypeError) as exc:
                raise self.fail(
                    spec, "regex", f"{path}.regex", f"{regex!r} is not a regular expression: {exc}"
                ) from None
        return ColumnSpec(
            name=name,
            type=kind,
            allowed=tuple(allowed) if allowed is not None else None,
            regex=regex,
            **flags,
            **bounds,
        )

    def check(self, index: int, raw: Any, parent: Any) -> RowCheck:
        path = f"checks[{index}]"
        spec = self.mapping(raw, parent, index, path)
        self.known(spec, ("name", "expr"), path)
        expr = spec.get("expr")
        if not isinstance(expr, str) or not expr.strip():
            raise self.fail(spec, "expr", f"{path}.expr", f"expected an expression, got {expr!r}")
        try:
            parse_expression(expr)
        except ValueError as exc:
            raise self.fail(spec, "expr", f"{path}.expr", str(exc)) from None
        name = spec.get("name") or expr.strip()
        return RowCheck(name=str(name), expr=expr.strip())

    def row_count(self, data: dict[Any, Any]) -> tuple[int | None, int | None]:
        if "row_count" not in data:
            return None, None
        spec = self.mapping(data["row_count"], data, "row_count", "row_count")
        self.known(spec, ("min", "max"), "row_count")
        out = []
        for bound in ("min", "max"):
            value = spec.get(bound)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise self.fail(
                    spec, bound, f"row_count.{bound}", f"expected an integer, got {value!r}"
                )
            if value is not None and value < 0:
                raise self.fail(
                    spec, bound, f"row_count.{bound}", f"expected an integer >= 0, got {value!r}"
                )
            out.append(value)
        if out[0] is not None and out[1] is not None and out[0] > out[1]:
            raise self.fail(spec, "max", "row_count.max", f"{out[1]!r} is below min {out[0]!r}")
        return out[0], out[1]

    def freshness(self, data: dict[Any, Any]) -> Freshness | None:
        if "freshness" not in data:
            return None
        spec = self.mapping(data["freshness"], data, "freshness", "freshness")
        self.known(spec, ("column", "max_age"), "freshness")
        column = spec.get("column")
        if not isinstance(column, str):
            raise self.fail(spec, "column", "freshness.column", f"expected a name, got {column!r}")
        raw = spec.get("max_age")
        age = _duration(raw)
        if age is None:
            raise self.fail(
                spec,
                "max_age",
                "freshness.max_age",
                f"expected a duration such as 90s, 30m, 12h, 7d or 2w, got {raw!r}",
            )
        return Freshness(column=column, max_age=age)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _duration(raw: Any) -> dt.timedelta | None:
    if isinstance(raw, dt.timedelta):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool) and raw > 0:
        return dt.timedelta(seconds=raw)
    if isinstance(raw, str) and (m := _DURATION.match(raw)):
        return dt.timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    return None
