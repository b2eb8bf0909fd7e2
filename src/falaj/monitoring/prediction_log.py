"""The prediction log: every (sampled) prediction, written without slowing the request path.

:meth:`PredictionLog.log` is what the model server calls once per request (it satisfies the
serving side's ``PredictionSink`` protocol). It checks its arguments, draws the sampling
decision and appends one tuple to a :class:`~falaj.store.batch_writer.BatchWriter` queue; a
background thread writes batches. Guarantees:

- **Bounded memory.** At most ``max_pending`` requests wait in memory; a caller that would exceed
  it waits for the writer (back-pressure) instead of growing the process.
- **Partitions.** Each batch becomes one Parquet file per (model, version, UTC hour), stored
  content-addressed (sha256) in the prediction-log object store under the artifact store, and
  indexed in ``prediction_partitions`` (rows, time range, digest, size, columns, masking) in the
  same transaction as one ``prediction_requests`` row per request.
- **Request ids are unique.** A request id already logged (or repeated within a batch) is not
  written again; the next :meth:`flush` raises :class:`PredictionLogError` naming it.
- **Personal data.** Before a partition is written, the masking policy of its model version
  drops or hashes the columns classified ``pii`` (see :mod:`falaj.monitoring.masking`).
- **Crash window.** As the batch writer's: a killed process loses what was queued and not yet
  committed. A partition file written just before a crash, whose index row was never
  committed, is never read (nothing points at it).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import random
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd
import sqlalchemy as sa

from falaj.artifacts.objects import ObjectStoreProtocol
from falaj.errors import InvalidInputError
from falaj.monitoring.errors import PredictionLogError
from falaj.monitoring.masking import MaskingPolicy
from falaj.monitoring.tables import prediction_partitions, prediction_requests
from falaj.store.batch_writer import BatchWriter, Item
from falaj.store.metadata_store import MetadataStore
from falaj.store.schema import new_id, utcnow

__all__ = ["INPUT_PREFIX", "OUTPUT_PREFIX", "PredictionLog"]

_log = logging.getLogger("falaj.monitoring")

INPUT_PREFIX = "input."
OUTPUT_PREFIX = "output."
_MAX_REPORTED = 20


def _hour(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


class PredictionLog:
    """Asynchronous, batched, bounded, sampled prediction logging for one workspace."""

    def __init__(
        self,
        *,
        store: MetadataStore,
        objects: ObjectStoreProtocol,
        policy_for: Callable[[str, int], MaskingPolicy],
        sample_rate: float = 1.0,
        rng: random.Random | None = None,
        batch_size: int = 256,
        max_pending: int = 1024,
        flush_interval: float = 0.5,
    ) -> None:
        if not isinstance(sample_rate, int | float) or not 0.0 <= sample_rate <= 1.0:
            raise InvalidInputError(
                f"sample_rate {sample_rate!r} is invalid: expected a share between 0 and 1"
            )
        self._store = store
        self._objects = objects
        self._policy_for = policy_for
        self._policies: dict[tuple[str, int], MaskingPolicy] = {}
        self.sample_rate = float(sample_rate)
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._writer = BatchWriter(
            self._persist,
            batch_size=batch_size,
            max_pending=max_pending,
            flush_interval=flush_interval,
            name="falaj-prediction-log",
            error_class=PredictionLogError,
            describe=lambda item: f"request {item[0]!r} of {item[1]} v{item[2]}",
            in_foreign_transaction=store.in_transaction,
        )
        self._dup_lock = threading.Lock()
        self._duplicates: list[str] = []
        self.submitted = 0
        self.sampled_out = 0
        self.duplicates_total = 0
        self.partitions_written = 0

    # -- the request path ---------------------------------------------------------------------
    def log(
        self,
        *,
        request_id: str,
        model: str,
        version: int,
        deployment: str | None,
        revision: str | None,
        inputs: pd.DataFrame,
        outputs: dict[str, list[Any]],
        latency_ms: float,
        at: dt.datetime,
        shadow: bool,
    ) -> None:
        """Queue one request's prediction (returns at once unless the queue is full)."""
        if not isinstance(request_id, str) or not request_id or len(request_id) > 64:
            raise InvalidInputError(f"request_id {request_id!r} is invalid: expected 1-64 chars")
        if not isinstance(at, dt.datetime) or at.tzinfo is None:
            raise InvalidInputError(f"at {at!r} is invalid: expected a timezone-aware datetime")
        if not isinstance(inputs, pd.DataFrame):
            raise InvalidInputError(f"inputs of {request_id!r} must be a DataFrame")
        for key, values in outputs.items():
            if len(values) != len(inputs):
                raise InvalidInputError(
                    f"output {key!r} of request {request_id!r} has {len(values)} values for "
                    f"{len(inputs)} input rows"
                )
        if self.sample_rate < 1.0:
            with self._rng_lock:
                keep = self._rng.random() < self.sample_rate
            if not keep:
                self.sampled_out += 1
                return
        self.submitted += 1
        self._writer.submit(
            (request_id, model, int(version), deployment, revision, inputs, outputs,
             float(latency_ms), at, bool(shadow))
        )  # fmt: skip

    def flush(self) -> None:
        """Write everything queued so far; raise if some of it was refused."""
        self._writer.flush()
        with self._dup_lock:
            dups, self._duplicates = self._duplicates, []
        if dups:
            shown = ", ".join(repr(d) for d in dups[:_MAX_REPORTED])
            raise PredictionLogError(
                f"{len(dups)} logged request(s) were not written because their request id was "
                f"already logged: {shown}"
            )

    def close(self) -> None:
        self._writer.close()

    @property
    def pending(self) -> int:
        return self._writer.pending

    @property
    def max_pending(self) -> int:
        return self._writer.max_pending

    @property
    def peak_pending(self) -> int:
        return self._writer.peak_pending

    # -- the writer's side --------------------------------------------------------------------
    def _policy(self, model: str, version: int) -> MaskingPolicy:
        key = (model, version)
        if key not in self._policies:
            self._policies[key] = self._policy_for(model, version)
        return self._policies[key]

    def _persist(self, items: list[Item]) -> None:
        fresh = self._without_duplicates(items)
        groups: dict[tuple[str, int, dt.datetime], list[Item]] = {}
        for item in fresh:
            groups.setdefault((item[1], item[2], _hour(item[8])), []).append(item)
        written = []
        for (model, version, hour), group in groups.items():
            policy = self._policy(model, version)
            table, columns = _to_frame(group, policy)
            data = _parquet_bytes(table)
            result = self._objects.write_stream(io.BytesIO(data))
            written.append((model, version, hour, group, result, columns, policy))
        if not written:
            return
        now = utcnow()
        with self._store.transaction() as conn:
            for model, version, hour, group, result, columns, policy in written:
                pid = new_id()
                ats = [g[8] for g in group]
                conn.execute(
                    sa.insert(prediction_partitions).values(
                        id=pid,
                        model=model,
                        version=version,
                        hour=hour,
                        rows=sum(len(g[5]) for g in group),
                        requests=len(group),
                        first_at=min(ats),
                        last_at=max(ats),
                        digest=result.digest,
                        size=result.size,
                        columns=columns,
                        masked=dict(policy.actions),
                        created_at=now,
                    )
                )
                conn.execute(
                    sa.insert(prediction_requests),
                    [
                        {"request_id": g[0], "model": model, "version": version,
                         "partition_id": pid, "rows": len(g[5]), "at": g[8]}
                        for g in group
                    ],
                )  # fmt: skip
        self.partitions_written += len(written)

    def _without_duplicates(self, items: list[Item]) -> list[Item]:
        ids = [i[0] for i in items]
        with self._store.read() as conn:
            existing = {
                r[0]
                for r in conn.execute(
                    sa.select(prediction_requests.c.request_id).where(
                        prediction_requests.c.request_id.in_(ids)
                    )
                )
            }
        seen: set[str] = set()
        keep: list[Item] = []
        dropped: list[str] = []
        for item in items:
            if item[0] in existing or item[0] in seen:
                dropped.append(item[0])
                continue
            seen.add(item[0])
            keep.append(item)
        if dropped:
            _log.error("prediction log: duplicate request ids not written: %s", dropped[:5])
            with self._dup_lock:
                self.duplicates_total += len(dropped)
                room = _MAX_REPORTED - len(self._duplicates)
                self._duplicates.extend(dropped[: max(room, 0)])
        return keep


def _to_frame(group: list[Item], policy: MaskingPolicy) -> tuple[pd.DataFrame, list[str]]:
    """One DataFrame of a partition: request metadata, ``input.*`` and ``output.*`` columns."""
    import numpy as np

    sizes = [len(g[5]) for g in group]
    inputs = pd.concat(
        [policy.apply(g[5]).reset_index(drop=True) for g in group], ignore_index=True
    )
    meta = pd.DataFrame(
        {
            "request_id": np.repeat([g[0] for g in group], sizes),
            "row": np.concatenate([np.arange(n, dtype=np.int32) for n in sizes])
            if sizes
            else np.empty(0, dtype=np.int32),
            "at": pd.to_datetime(
                np.repeat([g[8].astimezone(dt.UTC) for g in group], sizes), utc=True
            ),
            "deployment": np.repeat([g[3] for g in group], sizes),
            "revision": np.repeat([g[4] for g in group], sizes),
            "latency_ms": np.repeat([g[7] for g in group], sizes),
            "shadow": np.repeat([g[9] for g in group], sizes),
        }
    )
    keys: list[str] = []
    for g in group:
        keys.extend(k for k in g[6] if k not in keys)
    outputs = {}
    for key in keys:
        values: list[Any] = []
        for g, n in zip(group, sizes, strict=True):
            values.extend(g[6].get(key, [None] * n))
        outputs[OUTPUT_PREFIX + key] = values
    frame = pd.concat(
        [meta, inputs.add_prefix(INPUT_PREFIX), pd.DataFrame(outputs, index=meta.index)], axis=1
    )
    return frame, [str(c) for c in frame.columns]


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer, compression="zstd")
    return buffer.getvalue()
