"""Monitoring: prediction log, feedback, drift, performance, metrics, monitors, alerts, triggers.

``ws.monitoring`` (:class:`MonitoringService`) is the entry point; see docs/monitoring.md.
"""

from falaj.monitoring.drift import DriftConfig, DriftReport, FeatureDrift
from falaj.monitoring.errors import (
    DriftDetectedError,
    MonitorNotFoundError,
    MonitorSpecError,
    NoReferenceError,
    PredictionLogError,
    UnknownRequestError,
)
from falaj.monitoring.masking import MaskingPolicy
from falaj.monitoring.monitors import Alert, Monitor, MonitorRun, Monitors, RetrainResult
from falaj.monitoring.outcomes import DriftOutcome, PerformanceOutcome, RetentionReport
from falaj.monitoring.performance import Performance
from falaj.monitoring.ports import RequestStats, RequestStatsSource
from falaj.monitoring.prediction_log import PredictionLog
from falaj.monitoring.service import MonitoringService

__all__ = [
    "Alert",
    "DriftConfig",
    "DriftDetectedError",
    "DriftOutcome",
    "DriftReport",
    "FeatureDrift",
    "MaskingPolicy",
    "Monitor",
    "MonitorNotFoundError",
    "MonitorRun",
    "MonitorSpecError",
    "MonitoringService",
    "Monitors",
    "NoReferenceError",
    "Performance",
    "PerformanceOutcome",
    "PredictionLog",
    "PredictionLogError",
    "RequestStats",
    "RequestStatsSource",
    "RetentionReport",
    "RetrainResult",
    "UnknownRequestError",
]
