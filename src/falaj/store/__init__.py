"""Metadata store: SQLAlchemy 2 Core schema, Alembic migrations, SQLite and PostgreSQL."""

from falaj.store.engine import create_engine, masked_url
from falaj.store.metadata_store import MetadataStore, MetadataStoreProtocol
from falaj.store.schema import metadata, new_id, utcnow

__all__ = [
    "MetadataStore",
    "MetadataStoreProtocol",
    "create_engine",
    "masked_url",
    "metadata",
    "new_id",
    "utcnow",
]
