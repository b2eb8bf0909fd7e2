"""Row expressions for cross-column checks (``end >= start``, ``paid <= amount * 1.1``).

A small, safe subset of Python expressions, evaluated column-wise with pandas: column names,
numbers, strings, ``+ - * / %``, comparisons (chains too), ``and``/``or``/``not`` and
parentheses. Anything else (calls, attributes, subscripts) is refused, so a suite file can
never run code. Rows where an operand is null pass (nullability is its own expectation).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["columns_of", "evaluate", "parse_expression"]

_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def parse_expression(text: str) -> ast.expr:
    """The parsed expression; ``ValueError`` says what is not allowed."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"{text!r} is not a valid expression: {exc.msg}") from None
    for node in ast.walk(tree):
        allowed = (
            ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub,
            ast.BinOp, ast.Compare, ast.Name, ast.Load, ast.Constant,
            *_BINOPS, *_CMPOPS,
        )  # fmt: skip
        if not isinstance(node, allowed):
            raise ValueError(
                f"{text!r} uses {type(node).__name__}, which is not allowed: expected column "
                "names, numbers, strings, + - * / %, comparisons, and/or/not"
            )
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float | str):
            raise ValueError(f"{text!r}: constant {node.value!r} is not a number or string")
    return tree.body


def columns_of(text: str) -> list[str]:
    """Column names the expression reads, in order of first use."""
    names: list[str] = []
    for node in ast.walk(parse_expression(text)):
        if isinstance(node, ast.Name) and node.id not in names:
            names.append(node.id)
    return names


def evaluate(text: str, frame: pd.DataFrame) -> pd.Series:
    """A boolean Series: True where the row passes (or an operand is null)."""
    import pandas as pd

    tree = parse_expression(text)
    missing = [c for c in columns_of(text) if c not in frame.columns]
    if missing:
        raise ValueError(f"{text!r} names columns {missing} that the data does not have")
    used = frame[columns_of(text)]
    any_null = used.isna().any(axis=1) if len(used.columns) else pd.Series(False, frame.index)
    result = _eval(tree, frame)
    if not isinstance(result, pd.Series):
        result = pd.Series(bool(result), index=frame.index)
    return result.fillna(False).astype(bool) | any_null


def _eval(node: ast.expr, frame: pd.DataFrame) -> Any:
    if isinstance(node, ast.Name):
        return frame[node.id]
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_eval(node.left, frame), _eval(node.right, frame))
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, frame)
        return -value if isinstance(node.op, ast.USub) else ~_as_bool(value)
    if isinstance(node, ast.BoolOp):
        values = [_as_bool(_eval(v, frame)) for v in node.values]
        out = values[0]
        for value in values[1:]:
            out = (out & value) if isinstance(node.op, ast.And) else (out | value)
        return out
    if isinstance(node, ast.Compare):
        left = _eval(node.left, frame)
        result: Any = None
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, frame)
            step = _as_bool(_CMPOPS[type(op)](left, right))
            result = step if result is None else (result & step)
            left = right
        return result
    raise ValueError(f"unsupported expression node {type(node).__name__}")


def _as_bool(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, pd.Series):
        return value.fillna(False).astype(bool)
    return bool(value)
