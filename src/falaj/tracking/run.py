"""``ActiveRun``: the handle a training loop logs through.

Logging calls validate their input on the caller's thread (so a mistake raises right there and
changes nothing), then hand a small tuple to the workspace's :class:`~falaj.store.batch_writer.
BatchWriter` and return. Params are immutable: the run keeps the params it has logged and
refuses a different value for a key at the call. Leaving the ``with`` block ends the run only
once everything it logged is durable; an exception marks it FAILED with the error recorded.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from falaj.errors import InvalidInputError
from falaj.governance.context import request_scope
from falaj.tracking.entities import END_STATUSES, LoggedModel
from falaj.tracking.errors import ParamConflictError, RunNotActiveError, TrackingWriteError
from falaj.tracking.rows import METRIC, PARAM, TAG
from falaj.tracking.validation import (
    check_key,
    metric_step,
    metric_value,
    param_text,
    tag_text,
    to_epoch_seconds,
)

if TYPE_CHECKING:
    import pandas as pd

    from falaj.artifacts.service import ArtifactInfo
    from falaj.governance.audit import Actor
    from falaj.tracking.service import TrackingService

__all__ = ["ActiveRun"]

_now = time.time
_MAX_ERROR = 4000
_STEP_MAX = 2**63  # steps are BIGINT


class ActiveRun:
    """A run in progress. Use as a context manager, or call :meth:`end`."""

    def __init__(
        self,
        service: TrackingService,
        run_id: str,
        experiment_id: str,
        experiment: str,
        name: str,
        parent_id: str | None,
        actor: Actor,
    ) -> None:
        self._service = service
        #: who this run acts for: authorized at start, and every row it logs is written as them
        self.actor = actor
        self._writer = service.writer
        self._submit = service.writer.submit
        self.id = run_id
        self.experiment_id = experiment_id
        self.experiment = experiment
        self.name = name
        self.parent_id = parent_id
        self._params: dict[str, str] = {}
        self._metric_keys: set[str] = set()
        self._ended = False
        self.status = "RUNNING"

    # -- params, metrics, tags -----------------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        """Record a param; re-logging the same value is a no-op, a different one a conflict."""
        if self._ended:
            self._raise_ended()
        key = check_key(key, "param")
        text = param_text(key, value)
        old = self._params.get(key)
        if old is not None:
            if old != text:
                raise ParamConflictError(
                    f"param {key!r} of run {self.id} is already {old!r}; params are immutable, "
                    f"cannot change it to {text!r}"
                )
            return
        self._params[key] = text
        self._submit((PARAM, self.id, key, text))

    def log_params(self, values: Mapping[str, Any]) -> None:
        """Record several params; all are checked before any is recorded."""
        if self._ended:
            self._raise_ended()
        staged: dict[str, str] = {}
        for key, value in _mapping(values, "params").items():
            key = check_key(key, "param")
            text = param_text(key, value)
            old = self._params.get(key, staged.get(key))
            if old is not None and old != text:
                raise ParamConflictError(
                    f"param {key!r} of run {self.id} is already {old!r}; params are immutable, "
                    f"cannot change it to {text!r}"
                )
            if old is None:
                staged[key] = text
        self._params.update(staged)
        self._writer.submit_many([(PARAM, self.id, k, v) for k, v in staged.items()])

    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: Any = None
    ) -> None:
        """Append a metric point (``step`` defaults to 0; ``timestamp`` to now)."""
        if self._ended:
            self._raise_ended()
        if key not in self._metric_keys:
            self._metric_keys.add(check_key(key, "metric"))
        number = value if type(value) is float else metric_value(key, value)
        self._submit(
            (
                METRIC,
                self.id,
                key,
                number,
                0
                if step is None
                else (
                    step
                    if type(step) is int and -_STEP_MAX <= step < _STEP_MAX
                    else metric_step(key, step)
                ),
                _now() if timestamp is None else to_epoch_seconds("timestamp", timestamp),
            )
        )

    def log_metrics(self, values: Mapping[str, float], step: int | None = None) -> None:
        """Append one point per key, all at ``step`` and the same timestamp."""
        if self._ended:
            self._raise_ended()
        now = _now()
        items = []
        for key, value in _mapping(values, "metrics").items():
            if key not in self._metric_keys:
                self._metric_keys.add(check_key(key, "metric"))
            step_value = 0 if step is None else metric_step(key, step)
            items.append((METRIC, self.id, key, metric_value(key, value), step_value, now))
        self._writer.submit_many(items)

    def log_batch(
        self,
        metrics: Iterable[tuple[str, float, int]] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Log many values in one call: ``metrics`` as ``(key, value, step)`` triples."""
        if self._ended:
            self._raise_ended()
        now = _now()
        items = []
        for point in metrics:
            if not isinstance(point, tuple) or len(point) != 3:
                raise InvalidInputError(
                    f"log_batch metric {point!r} is invalid: expected a (key, value, step) tuple"
                )
            key, value, step = point
            if key not in self._metric_keys:
                self._metric_keys.add(check_key(key, "metric"))
            items.append(
                (METRIC, self.id, key, metric_value(key, value), metric_step(key, step), now)
            )
        if params:
            self.log_params(params)
        if tags:
            self.set_tags(tags)
        self._writer.submit_many(items)

    def set_tag(self, key: str, value: Any) -> None:
        """Set a tag (tags are mutable: a later value replaces an earlier one)."""
        if self._ended:
            self._raise_ended()
        key = check_key(key, "tag")
        self._submit((TAG, self.id, key, tag_text(key, value)))

    def set_tags(self, values: Mapping[str, Any]) -> None:
        if self._ended:
            self._raise_ended()
        items = []
        for key, value in _mapping(values, "tags").items():
            key = check_key(key, "tag")
            items.append((TAG, self.id, key, tag_text(key, value)))
        self._writer.submit_many(items)

    # -- artifacts, models, datasets -----------------------------------------------------------
    def log_artifact(self, path: str | Path, name: str | None = None) -> ArtifactInfo:
        """Store a file as a content-addressed artifact of this run."""
        if self._ended:
            self._raise_ended()
        with self._acting():
            return self._service._log_artifact_file(self.id, Path(path), name)

    def log_bytes(self, data: bytes, name: str, media_type: str) -> ArtifactInfo:
        """Store bytes as a content-addressed artifact of this run."""
        if self._ended:
            self._raise_ended()
        with self._acting():
            return self._service._log_artifact_bytes(self.id, data, name, media_type)

    def log_model(
        self,
        model: Any,
        name: str = "model",
        *,
        input_example: pd.DataFrame | None = None,
        flavor: str | None = None,
        trusted: bool = False,
    ) -> LoggedModel:
        """Store a model (flavor, signature from ``input_example``) as one artifact."""
        if self._ended:
            self._raise_ended()
        with self._acting():
            return self._service._log_model(
                self.id, model, name, input_example=input_example, flavor=flavor, trusted=trusted
            )

    def log_dataset(self, dataset_version_id: str, context: str = "training") -> None:
        """Record that this run used a dataset version (lineage edge dataset_version -> run)."""
        if self._ended:
            self._raise_ended()
        with self._acting():
            self._service._log_dataset(self.id, dataset_version_id, context)

    # -- lifecycle -----------------------------------------------------------------------------
    def flush(self) -> None:
        """Write everything logged so far (every run's queued rows) before returning."""
        self._writer.flush()

    def end(self, status: str = "FINISHED", *, error: str | None = None) -> None:
        """Flush, then mark the run ended; a second call is a no-op."""
        if self._ended:
            return
        if status not in END_STATUSES:
            raise InvalidInputError(
                f"status {status!r} is invalid: expected one of {', '.join(END_STATUSES)}"
            )
        try:
            with self._acting():
                self._service._end_run(self, status, error)
        except TrackingWriteError:
            # The run ended; some of its rows were refused by the store (reported here).
            self._ended = True
            self.status = status
            raise
        self._ended = True
        self.status = status

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def params(self) -> dict[str, str]:
        """The params logged through this handle."""
        return dict(self._params)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._ended:
            return
        if exc is None:
            self.end("FINISHED")
            return
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        status = "FAILED" if isinstance(exc, Exception) else "KILLED"
        self.end(status, error=f"{type(exc).__name__}: {exc}\n\n{text}"[:_MAX_ERROR])

    def _acting(self) -> AbstractContextManager[str]:
        """Calls on this run act for the principal who started it, whoever holds the handle."""
        return request_scope(principal=self.actor.principal, authenticated=self.actor.authenticated)

    def _raise_ended(self) -> None:
        raise RunNotActiveError(f"run {self.id} has ended ({self.status}); start a new run to log")

    def __repr__(self) -> str:
        return f"ActiveRun(id={self.id!r}, experiment={self.experiment!r}, status={self.status!r})"


def _mapping(values: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(values, Mapping):
        raise InvalidInputError(f"{what} must be a mapping of key to value, got {values!r}")
    return values
