"""Tables of the pipelines capability: runs, step runs, their outputs, the cache, schedules."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from falaj.store.schema import UTCDateTime, metadata

__all__ = [
    "pipeline_runs",
    "schedule_claims",
    "schedules",
    "step_cache",
    "step_outputs",
    "step_runs",
]

#: one execution of a pipeline (resumed runs keep their id and gain new step runs).
pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("pipeline", String(200), nullable=False),
    Column("source", String(1000), nullable=True),
    Column("params", JSON(), nullable=False),
    Column("graph", JSON(), nullable=False),
    Column("status", String(20), nullable=False),
    Column("executor", String(50), nullable=False),
    Column("external_key", String(300), nullable=True),
    Column("error", Text(), nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=True),
    # the process executing the run, and when it last said it was alive (p0002)
    Column("owner_host", String(255), nullable=True),
    Column("owner_pid", Integer(), nullable=True),
    Column("heartbeat_at", UTCDateTime(), nullable=True),
    UniqueConstraint("pipeline", "external_key"),
    Index("ix_pipeline_runs_started_at", "started_at"),
)

#: one attempt-group of one step in one pipeline run (FAILED, SUCCEEDED or CACHED).
step_runs = Table(
    "step_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("pipeline_run_id", String(32), ForeignKey("pipeline_runs.id"), nullable=False),
    Column("step", String(200), nullable=False),
    Column("function", String(500), nullable=False),
    Column("status", String(20), nullable=False),
    Column("cache_key", String(64), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("params", JSON(), nullable=False),
    Column("inputs", JSON(), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("executor", String(50), nullable=False),
    Column("error", Text(), nullable=True),
    Column("log_digest", String(64), nullable=True),
    Column("cached_from", String(32), nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=False),
    Index("ix_step_runs_pipeline_run_id", "pipeline_run_id"),
)

#: the named outputs of a step run, each a content-addressed artifact.
step_outputs = Table(
    "step_outputs",
    metadata,
    Column("step_run_id", String(32), ForeignKey("step_runs.id"), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("materializer", String(50), nullable=False),
    Column("media_type", String(200), nullable=False),
)

#: cache index: a successful step run per cache key (code + params + input digests).
step_cache = Table(
    "step_cache",
    metadata,
    Column("cache_key", String(64), primary_key=True),
    Column("step_run_id", String(32), ForeignKey("step_runs.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: cron schedules of pipelines (UTC).
schedules = Table(
    "schedules",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("source", String(1000), nullable=False),
    Column("params", JSON(), nullable=False),
    Column("cron", String(100), nullable=False),
    Column("enabled", Boolean(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: one row per (schedule, slot): the unique key decides which scheduler runs the slot.
schedule_claims = Table(
    "schedule_claims",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("schedule_id", String(32), ForeignKey("schedules.id"), nullable=False),
    Column("scheduled_for", UTCDateTime(), nullable=False),
    Column("claimed_by", String(200), nullable=False),
    Column("claimed_at", UTCDateTime(), nullable=False),
    Column("status", String(20), nullable=False),
    Column("pipeline_run_id", String(32), nullable=True),
    Column("error", Text(), nullable=True),
    UniqueConstraint("schedule_id", "scheduled_for"),
)
