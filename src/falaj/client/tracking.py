"""Remote tracking: experiments, runs and batched logging over HTTP.

:class:`RemoteRun` has the logging API of :class:`~falaj.tracking.run.ActiveRun`. Values are
validated on the caller's thread with tracking's own checks (a mistake raises at the call and
sends nothing); metrics, params and tags are buffered and sent in batches of up to
``batch_size`` items (and on :meth:`RemoteRun.flush`, before any artifact or model and when the
run ends). Each metric keeps the time it was logged on the client.
"""

from __future__ import annotations

import time
import traceback
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from falaj.client.codec import from_jsonable
from falaj.client.http import Http, RemotePart
from falaj.errors import InvalidInputError
from falaj.tracking.entities import END_STATUSES, Experiment, LoggedModel, MetricPoint, Run, RunPage
from falaj.tracking.errors import ParamConflictError, RunNotActiveError
from falaj.tracking.validation import check_key, metric_step, metric_value, param_text, tag_text

if TYPE_CHECKING:
    import pandas as pd

    from falaj.artifacts.service import ArtifactInfo

__all__ = ["RemoteRun", "RemoteTracking"]

_MAX_ERROR = 4000


def q(value: object) -> str:
    """One URL path segment."""
    return quote(str(value), safe="")


class RemoteRun:
    """A run in progress on the server. Use as a context manager, or call :meth:`end`."""

    def __init__(self, http: Http, data: Mapping[str, Any], *, batch_size: int = 1000) -> None:
        self._http = http
        self.id: str = data["id"]
        self.experiment: str = data["experiment"]
        self.name: str = data["name"]
        self.status: str = data.get("status", "RUNNING")
        self._batch_size = batch_size
        self._metrics: list[dict[str, Any]] = []
        self._params: dict[str, str] = {}
        self._pending_params: dict[str, str] = {}
        self._tags: dict[str, str] = {}
        self._ended = False

    # -- params, metrics, tags -----------------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, values: Mapping[str, Any]) -> None:
        self._check_open()
        if not isinstance(values, Mapping):
            raise InvalidInputError(f"params must be a mapping of key to value, got {values!r}")
        staged: dict[str, str] = {}
        for key, value in values.items():
            key = check_key(key, "param")
            text = param_text(key, value)
            old = self._params.get(key, staged.get(key))
            if old is not None and old != text:
                raise ParamConflictError(
                    f"param {key!r} of run {self.id} is already {old!r}; params are immutable, "
                    f"cannot change it to {text!r}"
                )
            staged[key] = text
        self._params.update(staged)
        self._pending_params.update(staged)
        self._maybe_flush()

    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: float | None = None
    ) -> None:
        self._check_open()
        key = check_key(key, "metric")
        point = {
            "key": key,
            "value": metric_value(key, value),
            "step": 0 if step is None else metric_step(key, step),
            "timestamp": time.time() if timestamp is None else float(timestamp),
        }
        self._metrics.append(point)
        self._maybe_flush()

    def log_metrics(self, values: Mapping[str, float], step: int | None = None) -> None:
        if not isinstance(values, Mapping):
            raise InvalidInputError(f"metrics must be a mapping of key to value, got {values!r}")
        now = time.time()
        for key, value in values.items():
            self.log_metric(key, value, step, now)

    def log_batch(
        self,
        metrics: Iterable[tuple[str, float, int]] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        now = time.time()
        for point in metrics:
            if not isinstance(point, tuple) or len(point) != 3:
                raise InvalidInputError(
                    f"log_batch metric {point!r} is invalid: expected a (key, value, step) tuple"
                )
            self.log_metric(point[0], point[1], point[2], now)
        if params:
            self.log_params(params)
        if tags:
            self.set_tags(tags)

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, values: Mapping[str, Any]) -> None:
        self._check_open()
        if not isinstance(values, Mapping):
            raise InvalidInputError(f"tags must be a mapping of key to value, got {values!r}")
        for key, value in values.items():
            key = check_key(key, "tag")
            self._tags[key] = tag_text(key, value)
        self._maybe_flush()

    # -- artifacts, models, datasets -----------------------------------------------------------
    def log_artifact(self, path: str | Path, name: str | None = None) -> ArtifactInfo:
        """Upload a file (streamed) as artifact ``name`` of this run."""
        from falaj.artifacts.service import ArtifactInfo

        self._check_open()
        source = Path(path)
        if not source.is_file():
            raise InvalidInputError(f"artifact file {source} does not exist")
        self.flush()
        with source.open("rb") as handle:
            data = self._http.put(
                f"/runs/{q(self.id)}/artifacts/{quote(name or source.name, safe='/')}",
                content=handle,
                headers={"content-type": "application/octet-stream"},
            )
        return from_jsonable(ArtifactInfo, data)

    def log_bytes(self, data: bytes, name: str, media_type: str) -> ArtifactInfo:
        from falaj.artifacts.service import ArtifactInfo

        self._check_open()
        self.flush()
        answer = self._http.put(
            f"/runs/{q(self.id)}/artifacts/{quote(name, safe='/')}",
            content=bytes(data),
            headers={"content-type": media_type},
        )
        return from_jsonable(ArtifactInfo, answer)

    def log_model(
        self,
        model: Any,
        name: str = "model",
        *,
        input_example: pd.DataFrame | None = None,
        flavor: str | None = None,
        trusted: bool = False,
    ) -> LoggedModel:
        """Pack the model here (flavor, signature from ``input_example``) and upload it."""
        from falaj.tracking.models import pack_model

        self._check_open()
        packed = pack_model(model, flavor=flavor, input_example=input_example, trusted=trusted)
        self.flush()
        answer = self._http.put(
            f"/runs/{q(self.id)}/models/{q(name)}",
            content=packed.data,
            headers={"content-type": "application/zip"},
        )
        return from_jsonable(LoggedModel, answer)

    def log_dataset(self, dataset_version_id: str, context: str = "training") -> None:
        self._check_open()
        self.flush()
        self._http.post(
            f"/runs/{q(self.id)}/datasets",
            json={"dataset_version": dataset_version_id, "context": context},
        )

    # -- lifecycle -----------------------------------------------------------------------------
    def flush(self) -> None:
        """Send everything buffered in one request."""
        if not (self._metrics or self._pending_params or self._tags):
            return
        body = {"metrics": self._metrics, "params": self._pending_params, "tags": self._tags}
        self._metrics, self._pending_params, self._tags = [], {}, {}
        self._http.post(f"/runs/{q(self.id)}/log", json=body)

    def end(self, status: str = "FINISHED", *, error: str | None = None) -> None:
        if self._ended:
            return
        if status not in END_STATUSES:
            raise InvalidInputError(
                f"status {status!r} is invalid: expected one of {', '.join(END_STATUSES)}"
            )
        try:
            self.flush()
        finally:
            self._http.post(
                f"/runs/{q(self.id)}/end",
                json={"status": status, "error": error[:_MAX_ERROR] if error else None},
            )
            self._ended = True
            self.status = status

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def params(self) -> dict[str, str]:
        return dict(self._params)

    def _maybe_flush(self) -> None:
        if len(self._metrics) + len(self._pending_params) + len(self._tags) >= self._batch_size:
            self.flush()

    def _check_open(self) -> None:
        if self._ended:
            raise RunNotActiveError(
                f"run {self.id} has ended ({self.status}); start a new run to log"
            )

    def __enter__(self) -> RemoteRun:
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

    def __repr__(self) -> str:
        return f"RemoteRun(id={self.id!r}, experiment={self.experiment!r}, status={self.status!r})"


class RemoteTracking(RemotePart):
    """``ws.tracking`` of a remote workspace."""

    def __init__(self, http: Http) -> None:
        self._http = http
        self._runs: weakref.WeakSet[RemoteRun] = weakref.WeakSet()

    def create_experiment(self, name: str, *, description: str | None = None) -> Experiment:
        data = self._http.post("/experiments", json={"name": name, "description": description})
        return from_jsonable(Experiment, data)

    def get_experiment(self, name: str) -> Experiment:
        return from_jsonable(Experiment, self._http.get(f"/experiments/{q(name)}"))

    def list_experiments(self) -> list[Experiment]:
        return [from_jsonable(Experiment, e) for e in self._http.get("/experiments")]

    def start_run(
        self,
        experiment: str,
        *,
        run_name: str | None = None,
        tags: dict[str, str] | None = None,
        parent_run_id: str | None = None,
    ) -> RemoteRun:
        body = {
            "experiment": experiment,
            "run_name": run_name,
            "tags": tags,
            "parent_run_id": parent_run_id,
        }
        run = RemoteRun(self._http, self._http.post("/runs", json=body))
        self._runs.add(run)
        return run

    def get_run(self, run_id: str) -> Run:
        return from_jsonable(Run, self._http.get(f"/runs/{q(run_id)}"))

    def search_runs(
        self,
        filter: str = "",
        *,
        experiment: str | None = None,
        order_by: list[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> RunPage:
        params: dict[str, Any] = {"filter": filter, "max_results": max_results}
        if experiment is not None:
            params["experiment"] = experiment
        if order_by:
            params["order_by"] = order_by
        if page_token is not None:
            params["page_token"] = page_token
        return from_jsonable(RunPage, self._http.get("/runs", params=params))

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        data = self._http.get(f"/runs/{q(run_id)}/metrics/{q(key)}")
        return [from_jsonable(MetricPoint, p) for p in data]

    def end_run(self, run_id: str, status: str = "KILLED", *, reason: str = "") -> Run:
        data = self._http.post(
            f"/runs/{q(run_id)}/end", json={"status": status, "error": reason or None}
        )
        return from_jsonable(Run, data)

    def get_artifact(self, run_id: str, name: str, dest: str | Path) -> Path:
        """Download a run's artifact to ``dest`` (streamed)."""
        target = Path(dest)
        path = f"/runs/{q(run_id)}/artifacts/{quote(name, safe='/')}"
        with self._http.stream(path) as resp, target.open("wb") as out:
            for chunk in resp.iter_bytes():
                out.write(chunk)
        return target

    def flush(self) -> None:
        """Send what every open run of this client has buffered."""
        for run in list(self._runs):
            if not run.ended:
                run.flush()
