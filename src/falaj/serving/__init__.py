"""Serving and progressive delivery: the Open Inference Protocol v2 model server, deployments
with weighted, sticky and shadow traffic, hot swaps, the rollout controller, batch scoring and
packaging for containers and Knative.

Heavy parts (Starlette, uvicorn, pandas) load where used; ``import falaj.serving`` is cheap.
"""

from __future__ import annotations

from falaj.serving.errors import (
    DeploymentNotFoundError,
    InferenceInputError,
    ModelLoadError,
    PayloadTooLargeError,
    RevisionNotFoundError,
    RolloutNotFoundError,
    RolloutStateError,
)
from falaj.serving.models import Deployment, Revision, Rollout, RolloutDecisionRecord
from falaj.serving.ports import FeedbackSink, ModelCatalog, PredictionSink, ServingLinks
from falaj.serving.rollout import AccuracySource, Decision, RolloutPolicy, decide, parse_steps
from falaj.serving.service import ServingService

__all__ = [
    "AccuracySource",
    "Decision",
    "Deployment",
    "DeploymentNotFoundError",
    "FeedbackSink",
    "InferenceInputError",
    "ModelCatalog",
    "ModelLoadError",
    "PayloadTooLargeError",
    "PredictionSink",
    "Revision",
    "RevisionNotFoundError",
    "Rollout",
    "RolloutDecisionRecord",
    "RolloutNotFoundError",
    "RolloutPolicy",
    "RolloutStateError",
    "ServingLinks",
    "ServingService",
    "decide",
    "parse_steps",
]
