"""The demo's stages, in lifecycle order. Each capability adds its stage here.

Stages pass results forward through ``ctx.results`` (keys documented in each stage module)."""

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
    needs: tuple[str, ...] = ()
    """Stages whose results this one reads and cannot do without (``--only`` adds them)."""


def _stages() -> list[Stage]:
    from falaj.demo.stages import (
        audit_trail,
        data,
        features,
        foundation,
        monitoring,
        orchestration,
        pipelines,
        promotion,
        registry,
        server,
        serving,
        tracking,
        training,
        trust,
        web_ui,
    )

    return [
        Stage("foundation", "Store the raw data as a verified artifact", foundation.run),
        Stage("data", "Ingest, profile, validate; quarantine a corrupted batch", data.run),
        Stage(
            "features",
            "Point-in-time training features; online lookup by id with TTL",
            features.run,
            needs=("data",),
        ),
        Stage("tracking", "Track a training sweep; search and compare runs", tracking.run),
        Stage("registry", "Register the model; aliases with history", registry.run),
        Stage(
            "pipelines",
            "The lifecycle as a pipeline: cached re-run and lineage",
            pipelines.run,
        ),
        Stage(
            "orchestration",
            "Operating pipelines: retry, resume, schedules, Airflow and Kubeflow exports",
            orchestration.run,
        ),
        Stage(
            "training",
            "Budgeted HPO, evaluation, fairness audit, SHAP, model card",
            training.run,
        ),
        Stage(
            "promotion",
            "Gates, approval by a second principal, promotion",
            promotion.run,
            needs=("training",),
        ),
        Stage(
            "serving",
            "Serve the champion; canary promoted, broken canary rolled back",
            serving.run,
            needs=("promotion",),
        ),
        Stage(
            "monitoring",
            "Monitoring: prediction log, feedback, drift, accuracy, alert, retraining trigger",
            monitoring.run,
            needs=("promotion",),
        ),
        Stage(
            "server",
            "The platform server: tokens, an approval through the API, a refused promotion",
            server.run,
            needs=("promotion",),
        ),
        Stage("audit", "The audit trail of everything above", audit_trail.run),
        # -- web UI (issue 18) --
        Stage(
            "ui",
            "The web UI: the version page with its gate report",
            web_ui.run,
            needs=("registry",),
        ),
        Stage(
            "trust",
            "Tamper-evident ledger, signed models, encryption at rest, residency, compliance",
            trust.run,
        ),
    ]


STAGES: list[Stage] = _stages()
