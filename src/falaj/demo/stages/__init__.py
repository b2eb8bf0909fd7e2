"""The demo's stages, in lifecycle order. Each capability adds its stage here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from falaj.demo.runner import DemoContext

__all__ = ["STAGES", "Stage"]


@dataclass(frozen=True)
class Stage:
    key: str
    title: str
    run: Callable[[DemoContext], None]


def _stages() -> list[Stage]:
    from falaj.demo.stages import audit_trail, data, foundation, promotion, registry
    from falaj.demo.stages import pipelines as _pipelines_stage
    from falaj.demo.stages import tracking as _tracking_stage
    from falaj.demo.stages import training as _training_stage

    return [
        Stage("foundation", "Store the raw data as a verified artifact", foundation.run),
        Stage("data", "Ingest, profile, validate; quarantine a corrupted batch", data.run),
        # [demo stages: data]
        Stage("tracking", "Track a training sweep; search and compare runs", _tracking_stage.run),
        # [demo stages: tracking]
        Stage("registry", "Register the model; aliases with history", registry.run),
        Stage(
            "pipelines",
            "The lifecycle as a pipeline: cached re-run and lineage",
            _pipelines_stage.run,
        ),
        # [demo stages: pipelines]
        Stage(
            "training",
            "Budgeted HPO, evaluation, fairness audit, SHAP, model card",
            _training_stage.run,
        ),
        # [demo stages: training]
        Stage("promotion", "Gates, approval by a second principal, promotion", promotion.run),
        Stage("audit", "The audit trail of everything above", audit_trail.run),
    ]


STAGES: list[Stage] = _stages()
