"""Monitoring tables: the prediction log's index, feedback, cached reference sketches, drift and
performance results over time, monitors and their alerts.

No foreign keys leave monitoring (model names, dataset versions and digests are plain strings), so
its migration branch (``m0001``) evolves independently of the registry and the data area.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, Index, Integer, String, Table, Text

from falaj.store.schema import UTCDateTime, metadata

__all__ = [
    "monitoring_alerts",
    "monitoring_monitors",
    "monitoring_results",
    "prediction_feedback",
    "prediction_partitions",
    "prediction_requests",
    "reference_sketches",
]

#: One Parquet file of logged predictions: a part of the (model, version, hour) partition.
prediction_partitions = Table(
    "prediction_partitions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("model", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("hour", UTCDateTime(), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("requests", Integer, nullable=False),
    Column("first_at", UTCDateTime(), nullable=False),
    Column("last_at", UTCDateTime(), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("columns", JSON, nullable=False),
    Column("masked", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_prediction_partitions_model_version_hour", "model", "version", "hour"),
)

#: One row per logged request: request ids are unique across the workspace.
prediction_requests = Table(
    "prediction_requests",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("model", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("partition_id", String(32), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_prediction_requests_partition_id", "partition_id"),
)

#: Ground truth attached to a request id (a list when the request carried several rows).
prediction_feedback = Table(
    "prediction_feedback",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("label", JSON, nullable=False),
    Column("received_by", String(200), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)

#: A dataset version's drift sketch (quantile bins, category counts), computed once.
reference_sketches = Table(
    "reference_sketches",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("reference", String(300), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: Drift and performance results per window: the trend over time.
monitoring_results = Table(
    "monitoring_results",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("model", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("window_start", UTCDateTime(), nullable=True),
    Column("window_end", UTCDateTime(), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("drifted", Boolean, nullable=True),
    Column("score", Float, nullable=True),
    Column("summary", JSON, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_monitoring_results_model_version_kind", "model", "version", "kind"),
)

#: A monitor: which model (alias) it watches, its checks and thresholds, webhooks, trigger.
monitoring_monitors = Table(
    "monitoring_monitors",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("model", String(200), nullable=False),
    Column("ref", String(64), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_run_at", UTCDateTime(), nullable=True),
)

#: An alert a monitor raised, and what each webhook answered.
monitoring_alerts = Table(
    "monitoring_alerts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("monitor", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("check_name", String(50), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("message", Text, nullable=False),
    Column("details", JSON, nullable=False),
    Column("deliveries", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_monitoring_alerts_monitor", "monitor"),
)
