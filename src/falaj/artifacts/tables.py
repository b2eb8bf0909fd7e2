"""The artifact index: one row per stored object."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table

from falaj.store.schema import UTCDateTime, metadata

__all__ = ["artifacts"]

artifacts = Table(
    "artifacts",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("size", BigInteger(), nullable=False),
    Column("media_type", String(200), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("region", String(64), nullable=False),
)
