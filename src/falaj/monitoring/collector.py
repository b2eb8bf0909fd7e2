"""The Prometheus collector the model server registers next to its own metrics.

On each scrape it reads the latest stored drift and performance results of its model (one
indexed query each) and yields:

- ``falaj_feature_drift{model,version,feature}``: the drift statistic of each feature (the test
  chosen for it; ``falaj_feature_drift_detected`` says whether it crossed its threshold);
- ``falaj_dataset_drift{model,version}``: 1 when the dataset-level verdict is drift;
- ``falaj_prediction_share{model,version,bucket}``: the prediction distribution of the window;
- ``falaj_model_metric{model,version,metric}``: accuracy, F1, ROC AUC, MAE... and
  ``estimated_accuracy`` (CBPE) when available;
- ``falaj_monitor_alert{monitor,check}``: 1 when the monitor's latest run of that check alerted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from falaj.monitoring.tables import monitoring_monitors, monitoring_results
from falaj.store.metadata_store import MetadataStore

__all__ = ["METRIC_NAMES", "MonitoringCollector"]

METRIC_NAMES = (
    "falaj_feature_drift",
    "falaj_feature_drift_detected",
    "falaj_dataset_drift",
    "falaj_prediction_share",
    "falaj_model_metric",
    "falaj_monitor_alert",
)


class MonitoringCollector:
    """A ``prometheus_client`` custom collector (``collect()`` yields metric families)."""

    def __init__(self, store: MetadataStore, model: str, version: int | None = None) -> None:
        self._store = store
        self.model = model
        self.version = version

    def _latest(self, conn: sa.Connection, kind: str) -> list[Any]:
        r = monitoring_results
        query = sa.select(r).where(r.c.model == self.model, r.c.kind == kind)
        if self.version is not None:
            query = query.where(r.c.version == self.version)
        rows = conn.execute(query.order_by(r.c.window_end.desc(), r.c.created_at.desc())).all()
        latest: dict[int, Any] = {}
        for row in rows:
            latest.setdefault(row.version, row)
        return list(latest.values())

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        drift = GaugeMetricFamily(
            "falaj_feature_drift",
            "Drift statistic of a feature in the latest window (the test chosen for it)",
            labels=["model", "version", "feature"],
        )
        detected = GaugeMetricFamily(
            "falaj_feature_drift_detected",
            "1 when the feature drifted in the latest window",
            labels=["model", "version", "feature"],
        )
        dataset = GaugeMetricFamily(
            "falaj_dataset_drift", "1 when the dataset-level verdict is drift",
            labels=["model", "version"],
        )  # fmt: skip
        share = GaugeMetricFamily(
            "falaj_prediction_share", "Share of predictions per bucket in the latest window",
            labels=["model", "version", "bucket"],
        )  # fmt: skip
        metric = GaugeMetricFamily(
            "falaj_model_metric", "The task's metric over labelled predictions (latest window)",
            labels=["model", "version", "metric"],
        )  # fmt: skip
        alert = GaugeMetricFamily(
            "falaj_monitor_alert", "1 when the monitor's latest run of the check alerted",
            labels=["monitor", "check"],
        )  # fmt: skip
        with self._store.read() as conn:
            for row in self._latest(conn, "drift"):
                v = str(row.version)
                summary = row.summary or {}
                dataset.add_metric([self.model, v], 1.0 if row.drifted else 0.0)
                for feature, f in (summary.get("features") or {}).items():
                    if f.get("statistic") is not None:
                        drift.add_metric([self.model, v, feature], float(f["statistic"]))
                    detected.add_metric([self.model, v, feature], 1.0 if f.get("drifted") else 0.0)
                chart = (summary.get("charts") or {}).get("__prediction__") or {}
                for label, value in zip(
                    chart.get("labels", []), chart.get("current", []), strict=False
                ):
                    share.add_metric([self.model, v, str(label)], float(value))
            for row in self._latest(conn, "performance"):
                v = str(row.version)
                summary = row.summary or {}
                for name, value in (summary.get("metrics") or {}).items():
                    if value is not None:
                        metric.add_metric([self.model, v, name], float(value))
                for name, value in (summary.get("estimated") or {}).items():
                    if name != "rows":
                        metric.add_metric([self.model, v, f"estimated_{name}"], float(value))
            monitors = conn.execute(
                sa.select(monitoring_monitors.c.name, monitoring_monitors.c.spec).where(
                    monitoring_monitors.c.model == self.model
                )
            ).all()
            for name, spec in monitors:
                last = (spec or {}).get("last_states") or {}
                for check, state in last.items():
                    alert.add_metric([name, check], 1.0 if state else 0.0)
        yield from (drift, detected, dataset, share, metric, alert)
