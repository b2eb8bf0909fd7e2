"""Shared SQLAlchemy metadata and column helpers.

Every capability package declares its tables in its own ``tables.py`` on this one
:data:`metadata`, so that migrations, the contract suite and the "models match migrations" test see
the whole schema. Columns use portable types only (they must behave the same on SQLite and
PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Column, DateTime, MetaData, String
from sqlalchemy.types import TypeDecorator

__all__ = ["UTCDateTime", "id_column", "metadata", "new_id", "utcnow"]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def utcnow() -> dt.datetime:
    """Timezone-aware now in UTC (the only clock the store uses)."""
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    """A random 32-hex-character identifier for rows created by Falaj."""
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps stored as UTC and always returned timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise TypeError("naive datetimes are ambiguous; pass a timezone-aware datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def id_column(name: str = "id") -> Column[str]:
    """A 32-character string primary key filled by :func:`new_id`."""
    return Column(name, String(32), primary_key=True, default=new_id)


JSONType = JSON().with_variant(JSON(), "postgresql")
