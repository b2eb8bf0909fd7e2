"""Run search: the filter's syntax tree → SQLAlchemy expressions, ordering and page tokens.

Metric conditions use the latest-value table through its ``(key, value)`` index
(``runs.id IN (SELECT run_id FROM tracking_latest_metrics WHERE key = :k AND value > :v)``);
params and tags work the same way over their tables. Ordering by a metric, param or tag joins its
row for that key (runs without the key sort last). Pages are offsets carried in an opaque token
bound to the query it came from; ``runs.id`` breaks ties so pages never overlap.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Connection

from falaj.errors import InvalidInputError
from falaj.tracking import reads
from falaj.tracking.entities import RunPage
from falaj.tracking.errors import ExperimentNotFoundError
from falaj.tracking.search import And, Comparison, Expr, Not, Or, parse_filter, parse_order_by
from falaj.tracking.tables import experiments, latest_metrics, params, runs, tags

__all__ = ["MAX_RESULTS", "compile_filter", "search"]

MAX_RESULTS = 10_000
_KEYED = {"metric": latest_metrics, "param": params, "tag": tags}


def _attribute_column(name: str) -> Any:
    if name == "experiment":
        return experiments.c.name
    return runs.c[name]


def _glob(pattern: str) -> str:
    """A LIKE pattern as a SQLite GLOB pattern (GLOB is case-sensitive, like PostgreSQL LIKE)."""
    out = []
    for ch in pattern:
        if ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        elif ch in "*?[":
            out.append(f"[{ch}]")
        else:
            out.append(ch)
    return "".join(out)


def _apply(column: Any, op: str, value: Any, dialect: str = "") -> ColumnElement[bool]:
    if op == "=":
        return column == value  # type: ignore[no-any-return]
    if op == "!=":
        return column != value  # type: ignore[no-any-return]
    if op == "<":
        return column < value  # type: ignore[no-any-return]
    if op == "<=":
        return column <= value  # type: ignore[no-any-return]
    if op == ">":
        return column > value  # type: ignore[no-any-return]
    if op == ">=":
        return column >= value  # type: ignore[no-any-return]
    if op in ("LIKE", "NOT LIKE") and dialect == "sqlite":
        # SQLite's LIKE ignores case; GLOB gives PostgreSQL's case-sensitive LIKE.
        match = column.op("GLOB")(_glob(value))
        return match if op == "LIKE" else sa.not_(match)  # type: ignore[no-any-return]
    if op == "LIKE":
        return column.like(value)  # type: ignore[no-any-return]
    if op == "NOT LIKE":
        return column.not_like(value)  # type: ignore[no-any-return]
    if op == "ILIKE":
        return sa.func.lower(column).like(sa.func.lower(sa.literal(value)))
    if op == "NOT ILIKE":
        return sa.func.lower(column).not_like(sa.func.lower(sa.literal(value)))
    if op in ("IN", "NOT IN"):
        member = _in_list(column, list(value), dialect)
        return member if op == "IN" else sa.not_(member)
    raise InvalidInputError(f"operator {op!r} is not supported")  # pragma: no cover


def _in_list(column: Any, values: list[str], dialect: str) -> ColumnElement[bool]:
    """``column IN values`` with the whole list bound as ONE parameter.

    One placeholder per value breaks the drivers' parameter limits (SQLite 32,766; PostgreSQL
    65,535) on long lists: PostgreSQL gets ``column = ANY(:array)``, SQLite
    ``column IN (SELECT value FROM json_each(:json))``.
    """
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        array = sa.bindparam(None, values, type_=ARRAY(sa.Text()))
        return column == sa.any_(array)  # type: ignore[no-any-return]
    if dialect == "sqlite":
        items: sa.Select[Any] = sa.select(sa.column("value")).select_from(
            sa.func.json_each(sa.bindparam(None, json.dumps(values), type_=sa.Text()))
        )
        return column.in_(items)  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]


def compile_filter(expr: Expr, dialect: str = "postgresql") -> ColumnElement[bool]:
    """A boolean SQL expression over ``runs`` (joined with ``experiments``)."""
    if isinstance(expr, And):
        return sa.and_(*(compile_filter(i, dialect) for i in expr.items))
    if isinstance(expr, Or):
        return sa.or_(*(compile_filter(i, dialect) for i in expr.items))
    if isinstance(expr, Not):
        return sa.not_(compile_filter(expr.item, dialect))
    return _comparison(expr, dialect)


def _comparison(c: Comparison, dialect: str) -> ColumnElement[bool]:
    if c.entity == "attribute":
        column = _attribute_column(c.key)
        if c.op == "IS NULL":
            return column.is_(None)  # type: ignore[no-any-return]
        if c.op == "IS NOT NULL":
            return column.is_not(None)  # type: ignore[no-any-return]
        return _apply(column, c.op, c.value, dialect)
    table = _KEYED[c.entity]
    keyed = sa.select(table.c.run_id).where(table.c.key == c.key)
    if c.op == "IS NULL":
        return runs.c.id.not_in(keyed)
    if c.op == "IS NOT NULL":
        return runs.c.id.in_(keyed)
    return runs.c.id.in_(keyed.where(_apply(table.c.value, c.op, c.value, dialect)))


def _order_columns(query: sa.Select[Any], clauses: list[str]) -> sa.Select[Any]:
    order: list[Any] = []
    for n, clause in enumerate(clauses):
        key = parse_order_by(clause)
        if key.entity == "attribute":
            column = _attribute_column(key.key)
        else:
            table = _KEYED[key.entity].alias(f"order_{n}")
            query = query.outerjoin(
                table, sa.and_(table.c.run_id == runs.c.id, table.c.key == key.key)
            )
            column = table.c.value
        expr = column.desc() if key.descending else column.asc()
        order.append(expr.nulls_last())
    if not clauses:
        order.append(runs.c.start_time.desc())
    order.append(runs.c.id.asc())
    return query.order_by(*order)


def _fingerprint(filter_text: str, experiment: str | None, order_by: list[str]) -> str:
    blob = json.dumps([filter_text, experiment, order_by])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _encode_token(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "q": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, fingerprint: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = int(data["o"])
        query = str(data["q"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(
            f"page_token {token!r} is invalid: pass the next_page_token of a previous page"
        ) from exc
    if query != fingerprint or offset < 0:
        raise InvalidInputError(
            f"page_token {token!r} belongs to another search: keep the filter, experiment and "
            "order_by of the search that returned it"
        )
    return offset


def search(
    conn: Connection,
    filter_text: str = "",
    *,
    experiment: str | None = None,
    order_by: list[str] | None = None,
    max_results: int = 100,
    page_token: str | None = None,
) -> RunPage:
    """One page of runs matching ``filter_text``."""
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise InvalidInputError(f"max_results {max_results!r} is invalid: expected an integer")
    if not 1 <= max_results <= MAX_RESULTS:
        raise InvalidInputError(
            f"max_results {max_results} is invalid: expected 1 to {MAX_RESULTS}"
        )
    if order_by is not None and (
        not isinstance(order_by, list | tuple) or not all(isinstance(o, str) for o in order_by)
    ):
        raise InvalidInputError(f"order_by {order_by!r} is invalid: expected a list of strings")
    clauses = list(order_by or [])
    expr = parse_filter(filter_text or "")
    fingerprint = _fingerprint(filter_text or "", experiment, clauses)
    offset = _decode_token(page_token, fingerprint) if page_token else 0

    query = reads.run_select()
    if experiment is not None:
        exp_id = conn.execute(
            sa.select(experiments.c.id).where(experiments.c.name == experiment)
        ).scalar_one_or_none()
        if exp_id is None:
            raise ExperimentNotFoundError(f"experiment {experiment!r} does not exist")
        query = query.where(runs.c.experiment_id == exp_id)
    if expr is not None:
        query = query.where(compile_filter(expr, conn.dialect.name))
    query = _order_columns(query, clauses)
    rows = conn.execute(query.limit(max_results + 1).offset(offset)).all()
    more = len(rows) > max_results
    rows = rows[:max_results]
    token = _encode_token(offset + max_results, fingerprint) if more else None
    return RunPage(runs=reads.load_runs(conn, rows), next_page_token=token)
