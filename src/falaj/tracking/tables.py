"""Tracking tables: experiments, runs, params, metrics (append-only), latest metrics, tags,
run artifacts, logged models and the dataset versions a run used.

``tracking_metrics`` is the full, append-only history of every metric point.
``tracking_latest_metrics`` keeps one row per (run, key) with the latest value (highest step,
then latest timestamp), maintained by the batched writer in the same transaction as the history;
run search filters and sorts on it through the ``(key, value)`` index. A metric ``value`` of
NULL stands for NaN (SQLite cannot store NaN; both backends store it the same way).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from falaj.store.schema import UTCDateTime, metadata

__all__ = [
    "experiments",
    "latest_metrics",
    "logged_models",
    "metrics",
    "params",
    "run_artifacts",
    "run_inputs",
    "runs",
    "tags",
]

experiments = Table(
    "tracking_experiments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

runs = Table(
    "tracking_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("experiment_id", String(32), ForeignKey("tracking_experiments.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("start_time", UTCDateTime(), nullable=False),
    Column("end_time", UTCDateTime(), nullable=True),
    Column("parent_id", String(32), ForeignKey("tracking_runs.id"), nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("error", Text, nullable=True),
    Column("host", String(255), nullable=True),
    Column("pid", Integer(), nullable=True),
    Index("ix_tracking_runs_experiment_id_start_time", "experiment_id", "start_time"),
    Index("ix_tracking_runs_parent_id", "parent_id"),
)

params = Table(
    "tracking_params",
    metadata,
    Column("run_id", String(32), ForeignKey("tracking_runs.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_tracking_params_key", "key"),
)

metrics = Table(
    "tracking_metrics",
    metadata,
    Column(
        "seq",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("run_id", String(32), ForeignKey("tracking_runs.id"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Float(), nullable=True),
    Column("step", BigInteger(), nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Index("ix_tracking_metrics_run_id_key_step", "run_id", "key", "step"),
)

latest_metrics = Table(
    "tracking_latest_metrics",
    metadata,
    Column("run_id", String(32), ForeignKey("tracking_runs.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Float(), nullable=True),
    Column("step", BigInteger(), nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Index("ix_tracking_latest_metrics_key_value", "key", "value"),
)

tags = Table(
    "tracking_tags",
    metadata,
    Column("run_id", String(32), ForeignKey("tracking_runs.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_tracking_tags_key", "key"),
)

run_artifacts = Table(
    "tracking_run_artifacts",
    metadata,
    Column("run_id", String(32), ForeignKey("tracking_runs.id"), primary_key=True),
    Column("name", String(500), primary_key=True),
    Column("digest", String(64), ForeignKey("artifacts.digest"), nullable=False),
    Column("media_type", String(200), nullable=False),
    Column("size", BigInteger(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

logged_models = Table(
    "tracking_logged_models",
    metadata,
    Column("run_id", String(32), ForeignKey("tracking_runs.id"), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("artifact_digest", String(64), ForeignKey("artifacts.digest"), nullable=False),
    Column("flavor", String(50), nullable=False),
    Column("signature", JSON(), nullable=True),
    Column("trusted", Boolean(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

run_inputs = Table(
    "tracking_run_inputs",
    metadata,
    Column("run_id", String(32), ForeignKey("tracking_runs.id"), primary_key=True),
    Column("dataset_version_id", String(300), primary_key=True),
    Column("context", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
