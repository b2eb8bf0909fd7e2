"""Registry tables: registered models, versions, tags, aliases with their history, evidence,
gate policies, approvals and promotions.

No foreign keys leave the registry (``run_id`` and artifact digests are plain strings), so the
registry's migration branch evolves independently of tracking and the foundation.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
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
    "alias_moves",
    "model_aliases",
    "model_approvals",
    "model_evidence",
    "model_policies",
    "model_promotions",
    "model_version_tags",
    "model_versions",
    "registered_models",
]

#: One row per registered model; ``latest_version`` is the counter new versions bump under a
#: row lock, so version numbers are gap-free and never handed out twice.
registered_models = Table(
    "registered_models",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("description", Text, nullable=True),
    Column("latest_version", Integer, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("source_uri", String(500), nullable=False),
    Column("artifact_digest", String(64), nullable=False),
    Column("flavor", String(50), nullable=False),
    Column("status", String(20), nullable=False),
    Column("description", Text, nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
    ForeignKeyConstraint(
        ["name"], ["registered_models.name"], name="fk_model_versions_name_registered_models"
    ),
    Index("ix_model_versions_run_id", "run_id"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

#: Where each alias points now (one row per model and alias).
model_aliases = Table(
    "model_aliases",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

#: Every move of every alias (append-only): who, when, why, from which version to which.
#: ``to_version`` is NULL when the alias was deleted.
alias_moves = Table(
    "alias_moves",
    metadata,
    Column(
        "seq",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("name", String(200), nullable=False),
    Column("alias", String(64), nullable=False),
    Column("from_version", Integer, nullable=True),
    Column("to_version", Integer, nullable=True),
    Column("moved_by", String(200), nullable=False),
    Column("moved_at", UTCDateTime(), nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_alias_moves_name_alias_moved_at", "name", "alias", "moved_at"),
)

#: Reports and measurements gates read (evaluation, fairness, explanation, model card...).
model_evidence = Table(
    "model_evidence",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(50), nullable=False),
    Column("summary", JSON(), nullable=False),
    Column("artifact_digest", String(64), nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_model_evidence_name_version", "name", "version"),
)

#: Gate policies, one revision per ``set_policy`` call; the highest revision is in force.
model_policies = Table(
    "model_policies",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

model_approvals = Table(
    "model_approvals",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("approver", String(200), nullable=False),
    Column("roles", JSON(), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # What the approval was given under (r0002): the policy revision in force (0: none), the
    # version's artifact digest and how many evidence items (model cards aside) were attached.
    # The gates count an approval only while all three still hold.
    Column("policy_revision", Integer, nullable=True),
    Column("model_digest", String(64), nullable=True),
    Column("evidence_seen", Integer, nullable=True),
    UniqueConstraint(
        "name",
        "version",
        "approver",
        "policy_revision",
        "evidence_seen",
        name="uq_model_approvals_basis",
    ),
)

#: The change record of every promotion that happened (refused ones live in the audit trail).
model_promotions = Table(
    "model_promotions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("alias", String(64), nullable=False),
    Column("from_version", Integer, nullable=True),
    Column("requester", String(200), nullable=False),
    Column("approvers", JSON(), nullable=False),
    Column("evidence", JSON(), nullable=False),
    Column("gates", JSON(), nullable=False),
    Column("risk", String(20), nullable=False),
    Column("policy_revision", Integer, nullable=True),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_model_promotions_name_version", "name", "version"),
)
