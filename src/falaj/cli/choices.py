"""Options with a fixed set of values, as enums: ``--help`` lists them and the parser refuses
anything else with one wording ("Invalid value for '--executor': ... is not one of ...")."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Direction",
    "EndStatus",
    "Executor",
    "ExportTarget",
    "FeatureKind",
    "Outcome",
    "Policy",
    "RunStatus",
    "SigningMode",
    "Task",
]


class Executor(StrEnum):
    """Where pipeline steps run."""

    local = "local"
    processes = "processes"
    ray = "ray"


class ExportTarget(StrEnum):
    """Orchestrators a pipeline can be exported to."""

    airflow = "airflow"
    kubeflow = "kubeflow"


class Direction(StrEnum):
    """Which way to walk the lineage graph."""

    up = "up"
    down = "down"
    both = "both"


class Outcome(StrEnum):
    """The outcome of an audited action."""

    success = "success"
    failure = "failure"
    denied = "denied"


class Policy(StrEnum):
    """What a failed validation does."""

    fail = "fail"
    warn = "warn"
    quarantine = "quarantine"


class RunStatus(StrEnum):
    """The status of a pipeline run."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class Task(StrEnum):
    """The kind of model being evaluated."""

    classification = "classification"
    regression = "regression"


class EndStatus(StrEnum):
    """How a run left RUNNING by a dead process is recorded as ended."""

    KILLED = "KILLED"
    FAILED = "FAILED"


class SigningMode(StrEnum):
    """How model signatures are judged on load."""

    enforce = "enforce"
    warn = "warn"
    off = "off"


class FeatureKind(StrEnum):
    """Kinds of feature store definitions."""

    entity = "entity"
    feature_view = "feature_view"
    feature_service = "feature_service"
