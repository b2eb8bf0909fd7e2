"""What serving needs from its neighbours, and the hooks monitoring plugs into.

The workspace wires these: :class:`ModelCatalog` is the part of ``ws.registry`` serving uses
(resolve ``NAME@ALIAS``/``NAME/VERSION`` to a pinned version, load it); :class:`PredictionSink`
and :class:`FeedbackSink` are implemented by the monitoring package (serving never imports it);
the server takes them, and extra Prometheus collectors, as optional arguments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FeedbackSink",
    "LoadableModel",
    "ModelCatalog",
    "PinnedVersion",
    "PredictionSink",
    "ServingLinks",
]


class PinnedVersion(Protocol):
    """A model version as the registry describes it (``ModelVersion`` satisfies it)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def artifact_digest(self) -> str: ...

    @property
    def status(self) -> str: ...


class LoadableModel(Protocol):
    """A loaded model (``falaj.tracking.LoadedModel`` satisfies it)."""

    flavor: str
    signature: dict[str, Any] | None
    manifest: dict[str, Any]

    def predict(self, df: pd.DataFrame) -> Any: ...

    def predict_proba(self, df: pd.DataFrame) -> Any: ...


class ModelCatalog(Protocol):
    """The part of ``ws.registry`` serving uses."""

    def get_version(self, name: str, version_or_alias: int | str) -> Any: ...

    def load_model(
        self, name: str, version_or_alias: int | str, *, trusted: bool = False
    ) -> Any: ...


class PredictionSink(Protocol):
    """Where served predictions are logged (monitoring's prediction log implements it)."""

    def log(
        self,
        *,
        request_id: str,
        model: str,
        version: int,
        deployment: str | None,
        revision: str | None,
        inputs: pd.DataFrame,
        outputs: dict[str, list[Any]],
        latency_ms: float,
        at: dt.datetime,
        shadow: bool,
    ) -> None:
        """Record one answered request; must not block (enqueue)."""

    def flush(self) -> None: ...


class FeedbackSink(Protocol):
    """Where ground-truth labels for served predictions go (monitoring implements it)."""

    def feedback(self, items: list[tuple[str, Any]]) -> int:
        """Attach ``(request_id, label)`` pairs; returns how many were attached."""


@dataclass(frozen=True)
class ServingLinks:
    """The neighbours, reached lazily so opening ``ws.serving`` builds nothing else."""

    catalog: Callable[[], ModelCatalog]
    prediction_sink: Callable[[], PredictionSink | None] = lambda: None
    feedback_sink: Callable[[], FeedbackSink | None] = lambda: None
    #: ``(model, version, background dataset "NAME" or "NAME@VERSION") -> explainer`` with
    #: ``explain_one(row_frame) -> {column: contribution}`` (the training area's explainer)
    explainer: Callable[[str, int, str], Any] | None = None
    #: ``feature service name -> FeatureLookup`` (the feature store's online lookup by entity
    #: key: ``join_keys`` and ``many({key: [values]})``), for ``falaj serve --features``
    feature_lookup: Callable[[str], Any] | None = None
    #: ``(model, version, region)``: raises when the residency policy keeps the model's training
    #: data out of ``region`` (the governance area's deployment hook)
    residency: Callable[[str, int, str], None] | None = None
