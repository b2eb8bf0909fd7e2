"""Tables of the feature store: definition versions and materialization watermarks.

Shipped by the hand-written migration ``x0001`` (branch ``features``); keep them in step.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Integer, String, Table

from falaj.store.schema import UTCDateTime, metadata

__all__ = ["feature_definitions", "feature_materializations"]

#: every version of every definition (entity, feature_view, feature_service); never rewritten.
feature_definitions = Table(
    "feature_definitions",
    metadata,
    Column("kind", String(20), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("version", Integer(), primary_key=True),
    Column("spec", JSON(), nullable=False),
    Column("spec_digest", String(64), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: per feature view: how far the online store is filled (the incremental watermark).
feature_materializations = Table(
    "feature_materializations",
    metadata,
    Column("view", String(100), primary_key=True),
    Column("view_version", Integer(), nullable=False),
    Column("source_version", String(220), nullable=False),
    Column("watermark", UTCDateTime(), nullable=False),
    Column("rows_written", BigInteger(), nullable=False),
    Column("online_store", String(20), nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
