"""``ws.monitoring``: the prediction log, feedback, drift, performance, retention, metrics.

Every public call asks the authorization seam first. Reads of neighbours made on behalf of an
authorized call (the version's lineage, its training dataset, the reference rows) run as
machinery. Results of drift and performance checks are stored per window (the trend), and the
latest ones are what :meth:`MonitoringService.collector` exposes to Prometheus.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import weakref
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from falaj.errors import InvalidInputError, NotFoundError
from falaj.governance.authorization import Action
from falaj.governance.context import machinery, request_scope
from falaj.governance.service import Service, ServiceContext
from falaj.lineage.graph import Node
from falaj.monitoring.drift import DriftConfig, DriftReport, compare
from falaj.monitoring.errors import NoReferenceError, UnknownRequestError
from falaj.monitoring.masking import MaskingPolicy
from falaj.monitoring.outcomes import (
    DriftOutcome,
    PerformanceOutcome,
    RetentionReport,
    check_feedback,
    prediction_column,
)
from falaj.monitoring.performance import (
    Performance,
    collect_labelled,
    estimate_accuracy,
    infer_task,
    score,
)
from falaj.monitoring.ports import MonitoringLinks
from falaj.monitoring.prediction_log import INPUT_PREFIX, OUTPUT_PREFIX, PredictionLog
from falaj.monitoring.references import PREDICTION
from falaj.monitoring.sketch import CurrentCounts, ReferenceSketch
from falaj.monitoring.tables import (
    monitoring_results,
    prediction_feedback,
    prediction_partitions,
    prediction_requests,
)
from falaj.monitoring.windows import Window, buckets
from falaj.store.schema import new_id, utcnow

if TYPE_CHECKING:
    import pandas as pd

    from falaj.monitoring.collector import MonitoringCollector
    from falaj.monitoring.monitors import Monitors
    from falaj.registry.models import ModelVersion

__all__ = ["MonitoringService"]

_CHUNK = 500


def _window(
    since: dt.timedelta | dt.datetime | None, until: dt.datetime | None, now: dt.datetime | None
) -> Window:
    end = until or now or utcnow()
    if end.tzinfo is None:
        raise InvalidInputError(f"until {end!r} is invalid: expected a timezone-aware datetime")
    if isinstance(since, dt.timedelta):
        return Window(end - since, end)
    if since is not None and since.tzinfo is None:
        raise InvalidInputError(f"since {since!r} is invalid: expected a timezone-aware datetime")
    return Window(since, end)


class MonitoringService(Service):
    """Prediction log, feedback, drift, performance, retention and metrics of served models."""

    def __init__(self, context: ServiceContext, links: MonitoringLinks) -> None:
        super().__init__(context)
        self._links = links
        self._logs: weakref.WeakSet[PredictionLog] = weakref.WeakSet()

    @property
    def links(self) -> MonitoringLinks:
        return self._links

    @cached_property
    def monitors(self) -> Monitors:
        """Monitors, their runs, alerts and the retraining trigger."""
        from falaj.monitoring.monitors import Monitors

        return Monitors(self.context, self)

    # -- prediction log -------------------------------------------------------------------------
    def prediction_log(
        self,
        *,
        sample_rate: float = 1.0,
        masking: dict[str, str] | None = None,
        pii_action: str = "hash",
        batch_size: int = 256,
        max_pending: int = 1024,
        flush_interval: float = 0.5,
        rng: random.Random | None = None,
    ) -> PredictionLog:
        """A prediction log writing into this workspace (the model server's PredictionSink).

        ``masking`` states actions per input column explicitly (``drop``/``hash``); columns the
        model version's training dataset classifies ``pii`` get ``pii_action`` unless listed.
        """
        actor = self.authorize(Action.MONITORING_LOG, "prediction_log", "*")
        MaskingPolicy.for_pii([], default_action=pii_action, explicit=masking)  # validates
        principal = actor.principal
        key = (self.store.get_info("workspace_id") or "").encode()

        def policy_for(model: str, version: int) -> MaskingPolicy:
            with request_scope(principal=principal), machinery():
                pii = self._pii_columns(model, version)
            return MaskingPolicy.for_pii(pii, default_action=pii_action, explicit=masking, key=key)

        log = PredictionLog(
            store=self.store,
            objects=self._links.objects,
            policy_for=policy_for,
            sample_rate=sample_rate,
            rng=rng,
            batch_size=batch_size,
            max_pending=max_pending,
            flush_interval=flush_interval,
        )
        self._logs.add(log)
        details = {"sample_rate": sample_rate, "masking": masking or {}, "pii_action": pii_action}
        self.audit(Action.MONITORING_LOG, "prediction_log", "*", details=details, authorized=True)
        return log

    def close(self) -> None:
        """Write what every prediction log of this service still holds (workspace close)."""
        for log in list(self._logs):
            log.close()

    def _flush_logs(self) -> None:
        for log in list(self._logs):
            log.flush()

    def _training_datasets(self, model: str, version: int) -> list[str]:
        """Dataset versions the version's run (or pipeline) read, nearest first."""
        edges = self._links.lineage.upstream(Node("model_version", f"{model}/{version}"))
        found = sorted((e.depth, e.source.id) for e in edges if e.source.kind == "dataset_version")
        seen: list[str] = []
        for _, ident in found:
            if ident not in seen:
                seen.append(ident)
        return seen

    def _pii_columns(self, model: str, version: int) -> list[str]:
        columns: list[str] = []
        for ident in self._training_datasets(model, version):
            columns.extend(self._links.datasets().get(ident).columns_labelled("pii"))
        return sorted(set(columns))

    # -- feedback -------------------------------------------------------------------------------
    def feedback(self, items: Iterable[tuple[str, Any]]) -> int:
        """Attach ground truth to logged request ids; returns how many were attached.

        A request that carried several rows takes a list of as many labels. Labels may arrive
        any time later; a new label replaces an earlier one. Any unknown request id refuses the
        whole call (nothing attached) with :class:`UnknownRequestError` naming them.
        """
        pairs = check_feedback(items)
        self.authorize(Action.MONITORING_FEEDBACK, "prediction_log", "*")
        self._flush_logs()  # labels for requests still queued in this process
        labels = dict(pairs)
        ids = list(labels)
        rows: dict[str, int] = {}
        with self.store.read() as conn:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                rows.update(
                    conn.execute(
                        sa.select(
                            prediction_requests.c.request_id, prediction_requests.c.rows
                        ).where(prediction_requests.c.request_id.in_(chunk))
                    ).all()
                )
        unknown = [i for i in ids if i not in rows]
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:20])
            raise UnknownRequestError(
                f"{len(unknown)} of {len(ids)} request id(s) are not in the prediction log, so "
                f"nothing was attached: {shown}",
                unknown,
            )
        values = {}
        for rid, label in labels.items():
            n = rows[rid]
            if n > 1 and not (isinstance(label, list) and len(label) == n):
                raise InvalidInputError(
                    f"label of request {rid!r} is invalid: the request carried {n} rows, so "
                    f"expected a list of {n} labels, got {str(label)[:80]}"
                )
            values[rid] = (
                label[0] if n == 1 and isinstance(label, list) and len(label) == 1 else label
            )
        now = utcnow()
        with self.mutation(
            Action.MONITORING_FEEDBACK, "prediction_log", "*", details={"labels": len(values)},
            authorized=True,
        ) as m:  # fmt: skip
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                m.conn.execute(
                    sa.delete(prediction_feedback).where(
                        prediction_feedback.c.request_id.in_(chunk)
                    )
                )
            m.conn.execute(
                sa.insert(prediction_feedback),
                [
                    {"request_id": rid, "label": label, "received_by": m.actor.principal.name,
                     "received_at": now}
                    for rid, label in values.items()
                ],
            )  # fmt: skip
        return len(values)

    # -- reading the log ------------------------------------------------------------------------
    def _partitions(self, model: str, version: int, window: Window) -> list[Any]:
        p = prediction_partitions
        query = sa.select(p).where(p.c.model == model, p.c.version == version)
        if window.start is not None:
            query = query.where(p.c.last_at >= window.start)
        query = query.where(p.c.first_at < window.end).order_by(p.c.hour, p.c.created_at)
        with self.store.read() as conn:
            return list(conn.execute(query).all())

    def _chunks(
        self, parts: Sequence[Any], window: Window, columns: Sequence[str] | None = None
    ) -> Iterator[pd.DataFrame]:
        """One DataFrame per partition file, rows inside the window (bounded memory)."""
        import pyarrow.parquet as pq

        for part in parts:
            data = self._links.objects.read_bytes(part.digest, expected_size=part.size)
            wanted = None
            if columns is not None:
                wanted = ["at", *[c for c in columns if c in part.columns and c != "at"]]
            frame = pq.read_table(io.BytesIO(data), columns=wanted).to_pandas()
            at = frame["at"]
            keep = at < window.end
            if window.start is not None:
                keep &= at >= window.start
            yield frame[keep]

    def read_predictions(
        self,
        model: str,
        ref: int | str = "champion",
        *,
        since: dt.timedelta | dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> pd.DataFrame:
        """The logged rows of a version in a window (for inspection; checks read in chunks)."""
        import pandas as pd

        mv = self._version(model, ref, Action.MONITORING_READ)
        window = _window(since, until, None)
        frames = list(self._chunks(self._partitions(mv.name, mv.version, window), window))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def _version(self, model: str, ref: int | str, action: Action) -> ModelVersion:
        self.authorize(action, "model", model)
        with machinery():
            return self._links.registry().get_version(model, ref)

    # -- drift ----------------------------------------------------------------------------------
    def drift(
        self,
        model: str,
        ref: int | str = "champion",
        *,
        reference: str | None = None,
        since: dt.timedelta | dt.datetime | None = None,
        until: dt.datetime | None = None,
        config: DriftConfig | None = None,
        prediction_output: str | None = None,
        record: bool = True,
        now: dt.datetime | None = None,
    ) -> DriftOutcome:
        """Drift of the version's logged inputs (and predictions) against its reference.

        The reference is ``reference`` (``DATASET@VERSION``) or, by default, the training
        dataset the version's lineage names.
        """
        mv = self._version(model, ref, Action.MONITORING_EVALUATE)
        window = _window(since, until, now)
        return self._drift(mv, window, reference, config, prediction_output, record)

    def drift_trend(
        self,
        model: str,
        ref: int | str = "champion",
        *,
        window: str = "hourly",
        since: dt.timedelta | dt.datetime,
        until: dt.datetime | None = None,
        reference: str | None = None,
        config: DriftConfig | None = None,
        now: dt.datetime | None = None,
    ) -> list[DriftOutcome]:
        """One drift check per hourly/daily window of the span (each stored: the trend)."""
        mv = self._version(model, ref, Action.MONITORING_EVALUATE)
        span = _window(since, until, now)
        assert span.start is not None
        return [
            self._drift(mv, w, reference, config, None, True)
            for w in buckets(span.start, span.end, window)
        ]

    def _drift(
        self,
        mv: ModelVersion,
        window: Window,
        reference: str | None,
        config: DriftConfig | None,
        prediction_output: str | None,
        record: bool,
    ) -> DriftOutcome:
        cfg = config or DriftConfig()
        parts = self._partitions(mv.name, mv.version, window)
        logged = {
            c[len(INPUT_PREFIX) :] for p in parts for c in p.columns if c.startswith(INPUT_PREFIX)
        }
        masked = {c for p in parts for c in p.masked}
        outputs = [c for p in parts for c in p.columns if c.startswith(OUTPUT_PREFIX)]
        pred_col = prediction_column(outputs, prediction_output)
        with machinery():
            ref_id = reference or self._reference_of(mv)
            sketch = self._sketch(mv, ref_id, sorted(logged - masked), pred_col is not None)
        columns = [c for c in sketch.columns if c != PREDICTION]
        acc = {c: CurrentCounts(sketch.columns[c]) for c in columns}
        pred_acc = (
            CurrentCounts(sketch.columns[PREDICTION])
            if pred_col is not None and PREDICTION in sketch.columns
            else None
        )
        wanted = [INPUT_PREFIX + c for c in columns] + ([pred_col] if pred_col else [])
        for chunk in self._chunks(parts, window, wanted):
            for c in columns:
                # partitions written by different callers may log different columns (a model
                # server logs the model's inputs; a batch job may log more): count what is there
                if INPUT_PREFIX + c in chunk.columns:
                    acc[c].update(chunk[INPUT_PREFIX + c])
            if pred_acc is not None and pred_col is not None:
                pred_acc.update(chunk[pred_col])
        if not acc or next(iter(acc.values())).rows == 0:
            report = DriftReport(False, 0.0, {}, 0, sketch.rows, cfg, None)
        else:
            report = compare(acc, cfg, prediction=pred_acc)
        result_id = None
        if record:
            charts = {c: f.chart for c, f in report.features.items()}
            if report.prediction is not None:
                charts[PREDICTION] = report.prediction.chart
            result_id = self._record(
                mv, "drift", window, report.rows, report.drifted, report.share_drifted,
                {**report.as_dict(), "reference": ref_id, "charts": charts},
            )  # fmt: skip
        return DriftOutcome(mv.name, mv.version, ref_id, window, report, result_id)

    def _reference_of(self, mv: ModelVersion) -> str:
        found = self._training_datasets(mv.name, mv.version)
        if not found:
            raise NoReferenceError(
                f"{mv.name} v{mv.version}: its lineage names no training dataset; pass a "
                "reference (DATASET@VERSION)"
            )
        return found[0]

    def _sketch(
        self, mv: ModelVersion, ref_id: str, columns: list[str], with_prediction: bool
    ) -> ReferenceSketch:
        """The reference's sketch of ``columns``, computed once per dataset content."""
        from falaj.monitoring.references import reference_sketch

        return reference_sketch(self.store, self._links, mv, ref_id, columns, with_prediction)

    def _record(
        self,
        mv: ModelVersion,
        kind: str,
        window: Window,
        rows: int,
        drifted: bool | None,
        value: float | None,
        summary: dict[str, Any],
    ) -> str:
        from falaj.training.reports.html import dumps

        rid = new_id()
        details = {"kind": kind, "rows": rows, "drifted": drifted}
        with self.mutation(
            Action.MONITORING_EVALUATE, "model_version", mv.ref, details=details, authorized=True
        ) as m:
            m.conn.execute(
                sa.insert(monitoring_results).values(
                    id=rid,
                    model=mv.name,
                    version=mv.version,
                    kind=kind,
                    window_start=window.start,
                    window_end=window.end,
                    rows=rows,
                    drifted=drifted,
                    score=value,
                    summary=json.loads(dumps(summary, indent=None)),
                    created_by=m.actor.principal.name,
                    created_at=utcnow(),
                )
            )
        return rid

    # -- performance ----------------------------------------------------------------------------
    def performance(
        self,
        model: str,
        ref: int | str = "champion",
        *,
        since: dt.timedelta | dt.datetime | None = None,
        until: dt.datetime | None = None,
        task: str | None = None,
        prediction_output: str | None = None,
        record: bool = True,
        now: dt.datetime | None = None,
    ) -> PerformanceOutcome:
        """The task's metrics over the window's predictions that received feedback, and the
        CBPE estimate over all of them when probabilities were logged."""
        mv = self._version(model, ref, Action.MONITORING_EVALUATE)
        self._flush_logs()
        window = _window(since, until, now)
        parts = self._partitions(mv.name, mv.version, window)
        outputs = [c for p in parts for c in p.columns if c.startswith(OUTPUT_PREFIX)]
        pred_col = prediction_column(outputs, prediction_output)
        proba_col = next((c for c in outputs if "proba" in c), None)
        wanted = ["request_id", "row", *(c for c in (pred_col, proba_col) if c)]
        got = collect_labelled(
            self._chunks(parts, window, wanted), self._labels, pred_col, proba_col
        )
        y_true, y_pred, proba, all_proba, total = got
        chosen = task or infer_task(y_true)
        metrics = score(chosen, y_true, y_pred, proba if proba_col else None)
        estimated = (
            estimate_accuracy(all_proba) if proba_col and chosen == "classification" else None
        )
        perf = Performance(chosen, metrics, len(y_true), total, estimated)
        result_id = None
        if record:
            main = metrics.get("accuracy", metrics.get("rmse"))
            result_id = self._record(
                mv, "performance", window, len(y_true), None, main, perf.as_dict()
            )
        return PerformanceOutcome(mv.name, mv.version, window, perf, result_id)

    def _labels(self, ids: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        with self.store.read() as conn:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                out.update(
                    conn.execute(
                        sa.select(
                            prediction_feedback.c.request_id, prediction_feedback.c.label
                        ).where(prediction_feedback.c.request_id.in_(chunk))
                    ).all()
                )
        return out

    # -- results, retention, metrics ------------------------------------------------------------
    def results(
        self, model: str, ref: int | str | None = None, *, kind: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Stored drift/performance results, newest first (the trend over time)."""
        self.authorize(Action.MONITORING_READ, "model", model)
        r = monitoring_results
        query = sa.select(r).where(r.c.model == model)
        if ref is not None:
            with machinery():
                query = query.where(
                    r.c.version == self._links.registry().get_version(model, ref).version
                )
        if kind is not None:
            query = query.where(r.c.kind == kind)
        query = query.order_by(r.c.window_end.desc(), r.c.created_at.desc()).limit(limit)
        with self.store.read() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def retention(self, days: float, *, now: dt.datetime | None = None) -> RetentionReport:
        """Delete logged partitions (bytes, index rows, request ids, feedback) older than
        ``days``: everything whose newest prediction is before the cutoff."""
        if not isinstance(days, int | float) or days <= 0:
            raise InvalidInputError(f"days {days!r} is invalid: expected a number above 0")
        cutoff = (now or utcnow()) - dt.timedelta(days=days)
        p, rq = prediction_partitions, prediction_requests
        with self.mutation(
            Action.MONITORING_RETENTION, "prediction_log", "*", details={"days": days}
        ) as m:
            parts = m.conn.execute(
                sa.select(p.c.id, p.c.digest, p.c.size).where(p.c.last_at < cutoff)
            ).all()
            ids = [x.id for x in parts]
            requests = 0
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                req_ids = sa.select(rq.c.request_id).where(rq.c.partition_id.in_(chunk))
                m.conn.execute(
                    sa.delete(prediction_feedback).where(
                        prediction_feedback.c.request_id.in_(req_ids)
                    )
                )
                requests += m.conn.execute(
                    sa.delete(rq).where(rq.c.partition_id.in_(chunk))
                ).rowcount
                m.conn.execute(sa.delete(p).where(p.c.id.in_(chunk)))
            m.details.update(partitions=len(ids), requests=requests, cutoff=cutoff.isoformat())
        for part in parts:  # bytes after the rows are gone: nothing points at them any more
            self._links.objects.delete(part.digest)
        return RetentionReport(cutoff, len(parts), requests, sum(x.size for x in parts))

    def report(self, outcome: DriftOutcome, path: str | Path | None = None) -> str:
        """The self-contained HTML report of a drift check (with the stored trend); written to
        ``path`` when given."""
        from falaj.monitoring.report import render_drift_report

        trend = self.results(outcome.model, outcome.version, kind="drift", limit=200)
        html = render_drift_report(outcome, trend)
        if path is not None:
            Path(path).write_text(html, encoding="utf-8")
        return html

    def export(
        self, out: str | Path, *, model: str | None = None, deployment: str | None = None
    ) -> list[Path]:
        """Grafana dashboard JSON and Prometheus alerting rules for a model, or for the models a
        deployment serves (found through lineage)."""
        from falaj.monitoring.export import write_export

        if (model is None) == (deployment is None):
            raise InvalidInputError("export needs exactly one of model or deployment")
        target = model or deployment
        assert target is not None
        self.authorize(Action.MONITORING_READ, "model" if model else "deployment", target)
        if model is not None:
            with machinery():
                self._links.registry().get_version(model, "latest")
            models = [model]
        else:
            with machinery():
                edges = self._links.lineage.upstream(Node("deployment", target), max_depth=1)
            models = sorted(
                {e.source.id.rsplit("/", 1)[0] for e in edges if e.source.kind == "model_version"}
            )
            if not models:
                raise NotFoundError(
                    f"deployment {target!r}: its lineage names no model version it serves"
                )
        return write_export(Path(out), target, models)

    def collector(self, model: str, version: int | None = None) -> MonitoringCollector:
        """A prometheus Collector of the latest drift and metric results of ``model``
        (``version``: one version only) for the server's ``/metrics``."""
        from falaj.monitoring.collector import MonitoringCollector

        self.authorize(Action.MONITORING_READ, "model", model)
        return MonitoringCollector(self.store, model, version)
