"""Id prefixes: the short ids list commands print resolve to the one full id they start with.

List tables show the first 12 characters of a 32-hex-character id (or 16 of a sha256 digest);
every command that takes an id accepts such a prefix, as git does. A prefix needs at least
:data:`MIN_PREFIX` characters and must match exactly one row.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy import Connection

from falaj.errors import InvalidInputError

__all__ = ["MIN_PREFIX", "looks_like_prefix", "resolve_prefix"]

#: the shortest prefix accepted (shorter ones would match too often to be useful)
MIN_PREFIX = 6
_HEX = re.compile(r"^[0-9a-f]+$")


def looks_like_prefix(ident: str) -> bool:
    """True when ``ident`` could be a prefix of a hex id (lowercase hex, at least 6 chars)."""
    return len(ident) >= MIN_PREFIX and bool(_HEX.match(ident))


def resolve_prefix(
    conn: Connection, column: sa.ColumnElement[str], ident: str, what: str
) -> str | None:
    """The one value of ``column`` that starts with ``ident``; None when none does.

    Raises :class:`InvalidInputError` naming ``what`` when several values start with it.
    """
    if not looks_like_prefix(ident):
        return None
    found = list(
        conn.execute(sa.select(column).where(column.startswith(ident, autoescape=True)).limit(6))
        .scalars()
        .all()
    )
    if len(found) > 1:
        shown = ", ".join(v[:16] for v in found[:5])
        raise InvalidInputError(
            f"{what} {ident!r} is ambiguous: {len(found)}{'+' if len(found) > 5 else ''} ids "
            f"start with it ({shown}); give more characters"
        )
    return found[0] if found else None
