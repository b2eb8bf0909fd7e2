"""Tables of the store itself: facts about the workspace."""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from falaj.store.schema import UTCDateTime, metadata

__all__ = ["workspace_info"]

#: key/value facts about the workspace: its id, creation time, home region, schema notes.
workspace_info = Table(
    "workspace_info",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
