"""Tables of the data capability: datasets, their versions, and validation runs.

Shipped by the hand-written migrations ``d0001`` and ``d0002`` (branch ``data``); keep them in
step.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from falaj.store.schema import UTCDateTime, metadata

__all__ = [
    "dataset_classification_changes",
    "dataset_validations",
    "dataset_versions",
    "datasets",
]

#: one row per dataset name; ``latest_version`` is bumped under a row lock to number versions.
datasets = Table(
    "datasets",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("latest_version", Integer(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: an immutable version: Parquet bytes in the artifact store, identified by its content hash.
dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("version", Integer(), primary_key=True),
    Column("content_digest", String(64), nullable=False),
    Column("artifact_digest", String(64), nullable=False),
    Column("profile_digest", String(64), nullable=True),
    Column("schema", JSON(), nullable=False),
    Column("row_count", BigInteger(), nullable=False),
    Column("size_bytes", BigInteger(), nullable=False),
    Column("source", JSON(), nullable=False),
    Column("classifications", JSON(), nullable=False),
    Column("description", Text(), nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("region", String(64), nullable=False),
    UniqueConstraint("name", "content_digest", name="uq_dataset_versions_name_content_digest"),
    ForeignKeyConstraint(["name"], ["datasets.name"], name="fk_dataset_versions_name_datasets"),
    Index("ix_dataset_versions_content_digest", "content_digest"),
)

#: one row per validation run; the full report is a JSON artifact (``report_digest``).
dataset_validations = Table(
    "dataset_validations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("dataset_version_id", String(300), nullable=True),
    Column("suite_name", String(200), nullable=False),
    Column("suite_digest", String(64), nullable=False),
    Column("policy", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("success", Boolean(), nullable=False),
    Column("row_count", BigInteger(), nullable=False),
    Column("failed_rows", BigInteger(), nullable=False),
    Column("checks_total", Integer(), nullable=False),
    Column("checks_failed", Integer(), nullable=False),
    Column("summary", JSON(), nullable=False),
    Column("report_digest", String(64), nullable=False),
    Column("quarantine_version_id", String(300), nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("region", String(64), nullable=False),
    Index(
        "ix_dataset_validations_dataset_version_id_created_at",
        "dataset_version_id",
        "created_at",
    ),
)

#: every change of a dataset's column classifications (``ws.datasets.classify``), append-only;
#: the latest change of each column is in force for the versions registered after it.
dataset_classification_changes = Table(
    "dataset_classification_changes",
    metadata,
    Column(
        "seq",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("name", String(200), nullable=False),
    Column("column_name", String(300), nullable=False),
    Column("labels", JSON(), nullable=False),
    Column("previous", JSON(), nullable=False),
    Column("changed_by", String(200), nullable=False),
    Column("changed_at", UTCDateTime(), nullable=False),
    Column("reason", Text(), nullable=True),
    Index("ix_dataset_classification_changes_name", "name", "seq"),
)
