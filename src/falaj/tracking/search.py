"""The run-search filter language: a hand-written tokenizer and recursive-descent parser.

Grammar (keywords are case-insensitive)::

    filter     := [ or_expr ] EOF
    or_expr    := and_expr { OR and_expr }
    and_expr   := not_expr { AND not_expr }
    not_expr   := NOT not_expr | '(' or_expr ')' | comparison
    comparison := field op value | field IS [NOT] NULL
    field      := (metrics|params|tags|attributes) '.' key | attribute
    key        := name characters (letters, digits, _ - . / :) | `back-quoted` | "double-quoted"
    op         := = | != | <> | < | <= | > | >= | [NOT] LIKE | [NOT] ILIKE | [NOT] IN
    value      := number | 'string' | "string" | '(' value { ',' value } ')'   (IN only)

Examples: ``metrics.auc > 0.8 and params.model = 'lgbm' and tags.team = 'risk'``,
``status = 'FINISHED' and start_time >= '2026-01-01'``, ``tags.`team name` IN ('risk', 'ops')``.

Metrics compare with numbers (=, !=, <, <=, >, >=); params, tags and text attributes with strings
(=, !=, LIKE, ILIKE, IN); ``start_time``/``end_time`` with an ISO date-time string or epoch
milliseconds. A malformed filter raises :class:`~falaj.tracking.errors.InvalidFilterError` that
points at the character position of the mistake with a caret line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Union, cast

from falaj.tracking.entities import STATUSES
from falaj.tracking.errors import InvalidFilterError

__all__ = [
    "ATTRIBUTES",
    "MAX_FILTER_LENGTH",
    "MAX_IN_VALUES",
    "MAX_TERMS",
    "And",
    "Comparison",
    "Expr",
    "Not",
    "Or",
    "OrderKey",
    "parse_filter",
    "parse_order_by",
]

#: attribute name → (canonical name, kind); kind is "text", "time" or "status".
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "id": ("id", "text"),
    "run_id": ("id", "text"),
    "name": ("name", "text"),
    "run_name": ("name", "text"),
    "status": ("status", "status"),
    "start_time": ("start_time", "time"),
    "end_time": ("end_time", "time"),
    "experiment": ("experiment", "text"),
    "experiment_name": ("experiment", "text"),
    "experiment_id": ("experiment_id", "text"),
    "parent_id": ("parent_id", "text"),
    "parent_run_id": ("parent_id", "text"),
    "created_by": ("created_by", "text"),
    "user": ("created_by", "text"),
}
_ENTITIES = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
}
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL", "ASC", "DESC"}
_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_TEXT_OPS = ("=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "IN", "NOT IN")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME_START = re.compile(r"[A-Za-z_]")
_NAME_CHARS = re.compile(r"[A-Za-z0-9_\-./:]*")

Value = Union[float, str, dt.datetime, None, tuple[str, ...]]  # noqa: UP007


# -- the syntax tree ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """``entity.key op value``; entity is metric, param, tag or attribute."""

    entity: str
    key: str
    op: str
    value: Value

    def to_text(self) -> str:
        prefix = {"metric": "metrics", "param": "params", "tag": "tags"}.get(self.entity)
        field = f"{prefix}.{_quote_key(self.key)}" if prefix else f"attributes.{self.key}"
        if self.op in ("IS NULL", "IS NOT NULL"):
            return f"{field} {self.op}"
        return f"{field} {self.op} {_render_value(self.value)}"


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]

    def to_text(self) -> str:
        return " AND ".join(_wrap(i, Or) for i in self.items)


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]

    def to_text(self) -> str:
        return " OR ".join(i.to_text() for i in self.items)


@dataclass(frozen=True)
class Not:
    item: Expr

    def to_text(self) -> str:
        return f"NOT {_wrap(self.item, And, Or)}"


Expr = Union[Comparison, And, Or, Not]  # noqa: UP007


@dataclass(frozen=True)
class OrderKey:
    entity: str
    key: str
    descending: bool


def _wrap(expr: Expr, *kinds: type) -> str:
    text = expr.to_text()
    return f"({text})" if isinstance(expr, kinds) else text


def _quote_key(key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-./:]*", key) and not key.endswith("."):
        return key
    return "`" + key + "`"


def _render_value(value: Value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_render_value(v) for v in value) + ")"
    if isinstance(value, dt.datetime):
        return "'" + value.isoformat() + "'"
    if isinstance(value, float):
        return repr(value)
    assert isinstance(value, str)
    return "'" + value.replace("'", "''") + "'"


# -- tokens ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # FIELD, NUMBER, STRING, OP, KEYWORD, LPAREN, RPAREN, COMMA, EOF
    text: str
    pos: int
    value: object = None


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "(),":
            kind = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA"}[ch]
            tokens.append(Token(kind, ch, i))
            i += 1
        elif ch in "<>!=":
            two = text[i : i + 2]
            if two in ("<=", ">=", "!=", "<>", "=="):
                op = {"<>": "!=", "==": "="}.get(two, two)
                tokens.append(Token("OP", op, i))
                i += 2
            elif ch == "!":
                raise InvalidFilterError("'!' must be followed by '=' (use != or NOT)", text, i)
            else:
                tokens.append(Token("OP", ch, i))
                i += 1
        elif ch in "'\"":
            value, end = _read_quoted(text, i, ch, "string")
            tokens.append(Token("STRING", text[i:end], i, value))
            i = end
        elif ch == "`":
            value, end = _read_quoted(text, i, "`", "quoted name")
            tokens.append(Token("FIELD", text[i:end], i, (None, value)))
            i = end
        elif ch.isdigit() or (
            ch in "+-." and i + 1 < n and (text[i + 1].isdigit() or text[i + 1] == ".")
        ):
            match = _NUMBER.match(text, i)
            if match is None or match.end() == i:
                raise InvalidFilterError(f"malformed number {text[i : i + 12]!r}", text, i)
            end = match.end()
            if end < n and (text[end].isalpha() or text[end] == "_"):
                raise InvalidFilterError(
                    f"malformed number {text[i : end + 1]!r}: a name cannot start with a digit",
                    text,
                    i,
                )
            tokens.append(Token("NUMBER", text[i:end], i, float(text[i:end])))
            i = end
        elif _NAME_START.match(ch):
            tokens.append(_read_name(text, i))
            i += len(tokens[-1].text)
        else:
            raise InvalidFilterError(f"unexpected character {ch!r}", text, i)
    tokens.append(Token("EOF", "", n))
    return tokens


def _read_quoted(text: str, start: int, quote: str, what: str) -> tuple[str, int]:
    """Read a quoted run starting at ``start``; a doubled quote stands for itself."""
    out = []
    i = start + 1
    while True:
        end = text.find(quote, i)
        if end < 0:
            raise InvalidFilterError(f"unterminated {what}: missing closing {quote}", text, start)
        out.append(text[i:end])
        if end + 1 < len(text) and text[end + 1] == quote:
            out.append(quote)
            i = end + 2
            continue
        return "".join(out), end + 1


def _read_name(text: str, start: int) -> Token:
    match = _NAME_CHARS.match(text, start + 1)
    assert match is not None
    end = match.end()
    word = text[start:end]
    if word.upper() in _KEYWORDS:
        return Token("KEYWORD", word, start, word.upper())
    prefix, dot, key = word.partition(".")
    entity = _ENTITIES.get(prefix.lower()) if dot else None
    if dot and entity is None:
        raise InvalidFilterError(
            f"unknown field prefix {prefix!r}: expected metrics., params., tags. or attributes.",
            text,
            start,
        )
    if entity is not None and not key:
        if end < len(text) and text[end] in '`"':
            value, qend = _read_quoted(text, end, text[end], "quoted name")
            if not value:
                raise InvalidFilterError("empty name after the field prefix", text, end)
            return Token("FIELD", text[start:qend], start, (entity, value))
        raise InvalidFilterError(f"missing name after {word!r}", text, end)
    if entity is None:
        return Token("FIELD", word, start, (None, word))
    return Token("FIELD", word, start, (entity, key))


# -- the parser --------------------------------------------------------------------------------
MAX_NESTING = 100
"""Parenthesised groups and NOTs nest at most this deep (deeper is refused, not a crash)."""
MAX_FILTER_LENGTH = 4_000_000
"""A filter is at most this many characters (room for an IN list of 100,000 run ids)."""
MAX_TERMS = 200
"""A filter holds at most this many comparisons (each becomes a sub-query; 1,200 broke SQLite's
expression depth and 20,000 took minutes on PostgreSQL)."""
MAX_IN_VALUES = 100_000
"""An IN list holds at most this many values; it is bound as one array/JSON parameter."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.terms = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at_keyword(self, *words: str) -> bool:
        return self.tok.kind == "KEYWORD" and self.tok.value in words

    def fail(self, message: str, tok: Token | None = None) -> InvalidFilterError:
        tok = tok or self.tok
        got = "the end of the filter" if tok.kind == "EOF" else repr(tok.text)
        return InvalidFilterError(f"{message}, got {got}", self.text, tok.pos)

    def parse(self) -> Expr | None:
        if self.tok.kind == "EOF":
            return None
        expr = self.or_expr()
        if self.tok.kind != "EOF":
            raise self.fail("expected AND, OR or the end of the filter")
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.at_keyword("OR"):
            self.advance()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while self.at_keyword("AND"):
            self.advance()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Expr:
        if self.at_keyword("NOT") or self.tok.kind == "LPAREN":
            if self.depth >= MAX_NESTING:
                raise self.fail(f"groups and NOTs nest deeper than {MAX_NESTING} levels")
            self.depth += 1
            try:
                return self._nested()
            finally:
                self.depth -= 1
        return self.comparison()

    def _nested(self) -> Expr:
        if self.advance().kind != "LPAREN":  # NOT
            return Not(self.not_expr())
        inner = self.or_expr()
        if self.tok.kind != "RPAREN":
            raise self.fail("expected ')' to close the group")
        self.advance()
        return inner

    def field(self) -> tuple[str, str, Token]:
        tok = self.tok
        if tok.kind != "FIELD":
            raise self.fail("expected a field such as metrics.auc, params.model or status")
        self.advance()
        entity, key = cast(tuple[str | None, str], tok.value)
        if entity is None or entity == "attribute":
            if key not in ATTRIBUTES:
                if entity is None and "." not in key:
                    raise InvalidFilterError(
                        f"unknown field {key!r}: use metrics.{key}, params.{key}, tags.{key} "
                        f"or one of the attributes {', '.join(sorted(ATTRIBUTES))}",
                        self.text,
                        tok.pos,
                    )
                raise InvalidFilterError(
                    f"unknown attribute {key!r}: expected one of {', '.join(sorted(ATTRIBUTES))}",
                    self.text,
                    tok.pos,
                )
            return "attribute", ATTRIBUTES[key][0], tok
        return entity, key, tok

    def comparison(self) -> Comparison:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.fail(
                f"the filter has more than {MAX_TERMS} comparisons; combine values with IN "
                "or narrow the search"
            )
        entity, key, _ = self.field()
        op_tok = self.tok
        op = self.operator()
        if op in ("IS NULL", "IS NOT NULL"):
            return Comparison(entity, key, op, None)
        kind = ATTRIBUTES[key][1] if entity == "attribute" else entity
        allowed = _NUMERIC_OPS if kind in ("metric", "time") else _TEXT_OPS
        if op not in allowed:
            what = {"metric": "metrics", "time": f"attribute {key}"}.get(kind, f"{kind}s")
            if kind in ("param", "tag", "text", "status"):
                what = f"{kind}s are text and" if kind in ("param", "tag") else f"{key} is text and"
            raise InvalidFilterError(
                f"operator {op} cannot be used here: {what} support {', '.join(allowed)}",
                self.text,
                op_tok.pos,
            )
        value = self.value(kind, key, op)
        return Comparison(entity, key, op, value)

    def operator(self) -> str:
        tok = self.tok
        if tok.kind == "OP":
            self.advance()
            return tok.text
        if tok.kind == "KEYWORD":
            if tok.value in ("LIKE", "ILIKE", "IN"):
                self.advance()
                return str(tok.value)
            if tok.value == "NOT":
                self.advance()
                nxt = self.tok
                if nxt.kind == "KEYWORD" and nxt.value in ("LIKE", "ILIKE", "IN"):
                    self.advance()
                    return f"NOT {nxt.value}"
                raise self.fail("expected LIKE, ILIKE or IN after NOT")
            if tok.value == "IS":
                self.advance()
                negate = self.at_keyword("NOT")
                if negate:
                    self.advance()
                if not self.at_keyword("NULL"):
                    raise self.fail("expected NULL after IS")
                self.advance()
                return "IS NOT NULL" if negate else "IS NULL"
        raise self.fail("expected a comparison operator (=, !=, <, <=, >, >=, LIKE, IN)")

    def value(self, kind: str, key: str, op: str) -> Value:
        if op in ("IN", "NOT IN"):
            if self.tok.kind != "LPAREN":
                raise self.fail("expected '(' to start the IN list")
            self.advance()
            items = [self.scalar(kind, key)]
            while self.tok.kind == "COMMA":
                self.advance()
                if len(items) >= MAX_IN_VALUES:
                    raise self.fail(f"the IN list has more than {MAX_IN_VALUES:,} values")
                items.append(self.scalar(kind, key))
            if self.tok.kind != "RPAREN":
                raise self.fail("expected ',' or ')' in the IN list")
            self.advance()
            return tuple(str(v) for v in items)
        return self.scalar(kind, key)

    def scalar(self, kind: str, key: str) -> float | str | dt.datetime:
        tok = self.tok
        if kind == "metric":
            if tok.kind != "NUMBER":
                raise self.fail(f"metrics.{key} is compared with a number: expected a number")
            self.advance()
            return float(tok.value)  # type: ignore[arg-type]
        if kind == "time":
            if tok.kind == "NUMBER":
                try:  # epoch milliseconds, as MLflow writes them
                    moment = dt.datetime.fromtimestamp(float(tok.value) / 1000, dt.UTC)  # type: ignore[arg-type]
                except (OverflowError, OSError, ValueError):
                    raise self.fail(
                        f"{key} is compared with epoch milliseconds out of the range of dates "
                        "(years 1 to 9999)"
                    ) from None
                self.advance()
                return moment
            if tok.kind == "STRING":
                self.advance()
                return _parse_time(str(tok.value), self.text, tok.pos)
            raise self.fail(f"{key} is compared with a date-time: expected an ISO date string")
        if tok.kind != "STRING":
            raise self.fail(f"{key} is text: expected a quoted string such as 'value'")
        self.advance()
        value = str(tok.value)
        if kind == "status" and value.upper() not in STATUSES:
            raise InvalidFilterError(
                f"status {value!r} is not a run status: expected one of {', '.join(STATUSES)}",
                self.text,
                tok.pos,
            )
        return value.upper() if kind == "status" else value


def _parse_time(value: str, text: str, pos: int) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidFilterError(
            f"{value!r} is not a date-time: expected ISO 8601 such as '2026-01-31' or "
            "'2026-01-31T12:00:00+00:00'",
            text,
            pos,
        ) from None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def parse_filter(text: str) -> Expr | None:
    """Parse a filter; ``None`` for an empty one."""
    if not isinstance(text, str):
        raise InvalidFilterError(f"filter must be a string, got {type(text).__name__}", "", 0)
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilterError(
            f"the filter is {len(text):,} characters; at most {MAX_FILTER_LENGTH:,} are allowed",
            text,
            MAX_FILTER_LENGTH,
        )
    return _Parser(text).parse()


def parse_order_by(clause: str) -> OrderKey:
    """``metrics.auc DESC``, ``start_time``, ``params.model ASC`` → :class:`OrderKey`."""
    if not isinstance(clause, str):
        raise InvalidFilterError(f"order_by must be a string, got {type(clause).__name__}", "", 0)
    parser = _Parser(clause)
    entity, key, _ = parser.field()
    descending = False
    if parser.at_keyword("ASC", "DESC"):
        descending = parser.advance().value == "DESC"
    if parser.tok.kind != "EOF":
        raise parser.fail("expected ASC, DESC or the end of the order-by clause")
    return OrderKey(entity, key, descending)
