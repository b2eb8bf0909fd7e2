"""Experiment tracking: experiments, runs, params, metrics, batched logging, run search.

Reached as ``ws.tracking`` and ``ws.start_run``::

    with ws.start_run("credit", tags={"team": "risk"}) as run:
        run.log_params({"C": 1.0, "model": "logreg"})
        for epoch in range(10):
            run.log_metric("loss", loss, step=epoch)
        run.log_model(pipeline, input_example=X.head())

Models as artifacts live in :mod:`falaj.tracking.models` (imported on use: it loads pandas).
"""

from falaj.tracking.entities import (
    Experiment,
    LoggedModel,
    MetricPoint,
    Run,
    RunArtifact,
    RunInput,
    RunPage,
)
from falaj.tracking.errors import (
    ExperimentNotFoundError,
    InvalidFilterError,
    ModelNotFoundError,
    ModelPredictionError,
    ParamConflictError,
    RunNotActiveError,
    RunNotFoundError,
    TrackingWriteError,
    UntrustedModelError,
)
from falaj.tracking.run import ActiveRun
from falaj.tracking.service import TrackingService, parse_model_uri

__all__ = [
    "ActiveRun",
    "Experiment",
    "ExperimentNotFoundError",
    "InvalidFilterError",
    "LoggedModel",
    "MetricPoint",
    "ModelNotFoundError",
    "ModelPredictionError",
    "ParamConflictError",
    "Run",
    "RunArtifact",
    "RunInput",
    "RunNotActiveError",
    "RunNotFoundError",
    "RunPage",
    "TrackingService",
    "TrackingWriteError",
    "UntrustedModelError",
    "parse_model_uri",
]
