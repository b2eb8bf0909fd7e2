"""``falaj monitoring export``: a provisionable Grafana dashboard and Prometheus alerting rules.

Both are generated for the models a deployment serves (or one model) and name only the metrics
:mod:`falaj.monitoring.collector` exports (:data:`METRIC_NAMES`), so a dashboard never shows an
empty panel for a metric that does not exist. Files: ``grafana/falaj-monitoring-<name>.json``
(a dashboard for Grafana's file provisioning, datasource chosen by the ``DS_PROMETHEUS`` input)
and ``prometheus/falaj-monitoring-<name>.rules.yaml`` (a rule group for ``rule_files``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

__all__ = ["alert_rules", "dashboard", "write_export"]

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _selector(models: list[str]) -> str:
    pattern = "|".join(re.escape(m) for m in models)
    return f'model=~"{pattern}"'


def _panel(
    pid: int, title: str, expr: str, legend: str, x: int, y: int, unit: str = "none"
) -> dict[str, Any]:
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": "A", "expr": expr, "legendFormat": legend}],
    }


def dashboard(name: str, models: list[str], *, drift_threshold: float = 0.1) -> dict[str, Any]:
    """A Grafana dashboard (JSON model) of drift, prediction distribution, metrics, alerts."""
    sel = _selector(models)
    panels = [
        _panel(1, "Feature drift (statistic of each feature's test)",
               f"falaj_feature_drift{{{sel}}}", "{{model}} v{{version}} {{feature}}", 0, 0),
        _panel(2, "Drifted features",
               f"sum by (model, version) (falaj_feature_drift_detected{{{sel}}})",
               "{{model}} v{{version}}", 12, 0),
        _panel(3, "Dataset drift verdict", f"falaj_dataset_drift{{{sel}}}",
               "{{model}} v{{version}}", 0, 8),
        _panel(4, "Prediction distribution", f"falaj_prediction_share{{{sel}}}",
               "{{model}} v{{version}} {{bucket}}", 12, 8, "percentunit"),
        _panel(5, "Model metrics (labelled feedback; estimated_* without labels)",
               f"falaj_model_metric{{{sel}}}", "{{model}} v{{version}} {{metric}}", 0, 16),
        _panel(6, "Monitor alerts", "falaj_monitor_alert", "{{monitor}} {{check}}", 12, 16),
    ]  # fmt: skip
    return {
        "__inputs": [
            {
                "name": "DS_PROMETHEUS",
                "label": "Prometheus",
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus",
            }
        ],
        "uid": f"falaj-mon-{_SAFE.sub('-', name)}"[:40],
        "title": f"Falaj monitoring: {name}",
        "tags": ["falaj", "monitoring"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "1m",
        "time": {"from": "now-7d", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": panels,
        "description": f"Drift threshold used by default: {drift_threshold}",
    }


def alert_rules(
    name: str, models: list[str], *, min_accuracy: float = 0.7, for_: str = "15m"
) -> dict[str, Any]:
    """Prometheus alerting rules on the monitoring gauges."""
    sel = _selector(models)
    rules = [
        {
            "alert": "FalajDatasetDrift",
            "expr": f"max by (model, version) (falaj_dataset_drift{{{sel}}}) > 0",
            "for": for_,
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "{{ $labels.model }} v{{ $labels.version }}: inputs drifted",
                "description": "The latest drift check found dataset-level drift.",
            },
        },
        {
            "alert": "FalajFeatureDrift",
            "expr": f"falaj_feature_drift_detected{{{sel}}} > 0",
            "for": for_,
            "labels": {"severity": "info"},
            "annotations": {
                "summary": (
                    "{{ $labels.model }} v{{ $labels.version }}: {{ $labels.feature }} drifted"
                ),
            },
        },
        {
            "alert": "FalajModelAccuracyLow",
            "expr": f'falaj_model_metric{{{sel},metric="accuracy"}} < {min_accuracy}',
            "for": for_,
            "labels": {"severity": "critical"},
            "annotations": {
                "summary": "{{ $labels.model }} v{{ $labels.version }}: accuracy {{ $value }}",
            },
        },
        {
            "alert": "FalajMonitorAlert",
            "expr": "falaj_monitor_alert > 0",
            "for": "0m",
            "labels": {"severity": "warning"},
            "annotations": {"summary": "monitor {{ $labels.monitor }}: {{ $labels.check }} alerts"},
        },
    ]
    return {"groups": [{"name": f"falaj-monitoring-{name}", "rules": rules}]}


def write_export(out: Path, name: str, models: list[str]) -> list[Path]:
    """Write the dashboard and the rules under ``out``; returns the files."""
    safe = _SAFE.sub("-", name)
    grafana = out / "grafana" / f"falaj-monitoring-{safe}.json"
    rules = out / "prometheus" / f"falaj-monitoring-{safe}.rules.yaml"
    grafana.parent.mkdir(parents=True, exist_ok=True)
    rules.parent.mkdir(parents=True, exist_ok=True)
    grafana.write_text(json.dumps(dashboard(name, models), indent=2) + "\n", encoding="utf-8")
    rules.write_text(
        yaml.safe_dump(alert_rules(name, models), sort_keys=False, width=120), encoding="utf-8"
    )
    return [grafana, rules]
