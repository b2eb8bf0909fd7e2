"""Identity tables: users and service accounts, role bindings, API tokens (hashes only)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, String, Table, UniqueConstraint

from falaj.store.schema import UTCDateTime, metadata

__all__ = ["api_tokens", "role_bindings", "users"]

users = Table(
    "users",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("active", Boolean(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

role_bindings = Table(
    "role_bindings",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("subject", String(200), nullable=False),
    Column("role", String(100), nullable=False),
    Column("scope", String(300), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("subject", "role", "scope", name="uq_role_bindings_subject_role_scope"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "user_name",
        String(200),
        ForeignKey("users.name", name="fk_api_tokens_user_name_users"),
        nullable=False,
    ),
    Column("secret_sha256", String(64), nullable=False),
    Column("scopes", JSON(), nullable=True),
    Column("description", String(500), nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Index("ix_api_tokens_user_name", "user_name"),
)
