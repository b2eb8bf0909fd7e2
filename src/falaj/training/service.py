"""``ws.training``: search, evaluate, audit, explain and document model versions.

Each call that judges a registered model version loads it from the registry, computes the
result, stores the HTML report and its JSON twin as artifacts, attaches the summary to the
version as evidence (``ws.registry.attach_evidence``; gates read it) and records a
``training.<kind>`` audit event naming the model version, its artifact digest and the report
digests. Reports are tied to the version's artifact digest (``model_digest`` in every summary).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from falaj.governance.authorization import Action
from falaj.governance.context import machinery
from falaj.governance.service import Service, ServiceContext
from falaj.lineage.graph import Node
from falaj.training.errors import EvaluationInputError
from falaj.training.ports import TrainingWorkspace, WorkspaceReopener

__all__ = ["ReportOutcome", "TrainingService"]


@dataclass(frozen=True)
class ReportOutcome:
    """What one evaluate / audit / explain / card call produced and stored."""

    kind: str
    result: Any
    html: str
    data: dict[str, Any]
    html_digest: str
    json_digest: str
    evidence: Any
    #: for evaluations: the data it ran on and whether it is in-sample (EvaluationData)
    provenance: Any = None

    def write(self, folder: str | Path, stem: str) -> Path:
        """Write the HTML report (and JSON beside it) into ``folder``; returns the HTML path."""
        from falaj.training.reports.html import dumps

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        html_path = out / f"{stem}.html"
        html_path.write_text(self.html, encoding="utf-8")
        (out / f"{stem}.json").write_text(dumps(self.data), encoding="utf-8")
        return html_path


class TrainingService(Service):
    """Hyperparameter search and the evidence a model version earns its way to production with."""

    def __init__(
        self,
        context: ServiceContext,
        workspace: TrainingWorkspace,
        reopener: WorkspaceReopener | None = None,
    ) -> None:
        super().__init__(context)
        self._ws = workspace
        self._reopener = reopener

    # -- search --------------------------------------------------------------------------------
    def search(
        self,
        spec: Any,
        X: pd.DataFrame,
        y: Any,
        *,
        experiment: str = "hpo",
        study_name: str | None = None,
        preprocessor: Any = None,
        dataset_version_id: str | None = None,
        progress: Callable[[int, float | None], None] | None = None,
        classifications: Mapping[str, Sequence[str]] | None = None,
    ) -> Any:
        """Run a hyperparameter search (``spec``: a SearchSpec, a mapping or a YAML path).

        Column classifications (``classifications``, else those of ``dataset_version_id``)
        decide the features: identifier and pii columns never are, sensitive ones only when the
        spec lists them in ``use_sensitive`` (see :mod:`falaj.training.columns`).
        """
        from falaj.training.hpo import run_search
        from falaj.training.spec import SearchSpec

        self.authorize(Action.TRAINING_SEARCH, "experiment", str(experiment))
        if isinstance(spec, str | Path):
            spec, _ = SearchSpec.from_yaml(spec)
        elif isinstance(spec, Mapping):
            spec = SearchSpec.from_dict(spec)
        elif not isinstance(spec, SearchSpec):
            raise EvaluationInputError(
                f"spec has type {type(spec).__name__}: expected a SearchSpec, a mapping or "
                "a YAML path"
            )
        if classifications is None and dataset_version_id is not None:
            datasets = getattr(self._ws, "datasets", None)
            if datasets is not None:
                classifications = datasets.get(dataset_version_id).classifications
        return run_search(
            self._ws,
            spec,
            X,
            y,
            experiment=experiment,
            study_name=study_name,
            preprocessor=preprocessor,
            opener=self._reopener(self.principal) if self._reopener is not None else None,
            dataset_version_id=dataset_version_id,
            progress=progress,
            classifications=classifications,
        )

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(
        self,
        name: str,
        version: int,
        X_test: pd.DataFrame,
        y_test: Any,
        *,
        task: str = "classification",
        threshold: float = 0.5,
        positive_label: Any = None,
        slices: Sequence[str] | pd.DataFrame | None = None,
        n_bootstrap: int = 1000,
        confidence: float = 0.95,
        seed: int = 0,
        trusted: bool = False,
        dataset_version_id: str | None = None,
    ) -> ReportOutcome:
        """Metrics with intervals (and per slice) of a model version, as evidence.

        The evidence names the data (``dataset_version_id``, a registered version such as
        ``"credit_holdout@1"`` the rows came from, else the digest of the rows) and says whether
        it is in-sample (the model's own training data, see :mod:`falaj.training.provenance`):
        an in-sample evaluation never satisfies a gate metric.
        """
        from falaj.training.evaluation import evaluate_classification, evaluate_regression
        from falaj.training.provenance import judge_evaluation_data
        from falaj.training.reports.render import evaluation_report

        mv, model = self._load(name, version, "evaluation", trusted)
        positive: Any = None
        if not isinstance(X_test, pd.DataFrame):
            raise EvaluationInputError(f"X_test is a {type(X_test).__name__}: expected a DataFrame")
        with machinery():  # reading the data's lineage and the run is part of the evaluation
            provenance = judge_evaluation_data(self._ws, mv, X_test, dataset_version_id)
        frame = _slice_frame(slices, X_test)
        if task == "classification":
            proba = np.asarray(model.predict_proba(X_test), dtype=np.float64)
            classes = _classes(model)
            positive = _positive(positive_label, classes, name, version)
            scores = proba[:, classes.index(positive)] if proba.ndim == 2 else proba
            result = evaluate_classification(
                y_test,
                scores,
                threshold=threshold,
                positive_label=positive,
                n_bootstrap=n_bootstrap,
                confidence=confidence,
                seed=seed,
                slices=frame,
            )
        elif task == "regression":
            result = evaluate_regression(
                y_test,
                model.predict(X_test),
                n_bootstrap=n_bootstrap,
                confidence=confidence,
                seed=seed,
                slices=frame,
            )
        else:
            raise EvaluationInputError(
                f"task {task!r} is unknown: expected classification or regression"
            )
        subject = {**_subject(mv), **_data_subject(provenance)}
        report = evaluation_report(result, subject=subject)
        data = {**report.data, **provenance.summary_fields()}
        summary = {**result.evidence_summary(), **provenance.summary_fields()}
        if task == "classification":
            summary["positive_label"] = positive
        summary.update(self._inputs_record(mv, model))
        edges = (
            [(Node("dataset_version", provenance.dataset_id), "evaluated_on")]
            if provenance.dataset_id
            else []
        )
        outcome = self._store("evaluation", mv, result, report.html, data, summary, edges=edges)
        return replace(outcome, provenance=provenance)

    # -- fairness ------------------------------------------------------------------------------
    def audit_fairness(
        self,
        name: str,
        version: int,
        X_test: pd.DataFrame,
        y_test: Any,
        *,
        sensitive_features: Sequence[str] | pd.DataFrame | Mapping[str, Sequence[Any]],
        policy: Any = None,
        min_group_size: int | None = None,
        intersections: bool = False,
        threshold: float = 0.5,
        positive_label: Any = None,
        n_bootstrap: int = 500,
        confidence: float = 0.95,
        seed: int = 0,
        trusted: bool = False,
    ) -> ReportOutcome:
        """Fairness audit of a model version's decisions (score >= ``threshold``), as evidence.

        ``sensitive_features``: column names of ``X_test``, or a frame/mapping of derived ones
        (e.g. an age group). ``policy``: a FairnessPolicy or its mapping form; without one the
        report has no verdict.
        """
        from falaj.training.fairness import FairnessPolicy, audit_fairness
        from falaj.training.reports.render import fairness_report

        mv, model = self._load(name, version, "fairness", trusted)
        if policy is not None and not isinstance(policy, FairnessPolicy):
            policy = FairnessPolicy.from_dict(policy)
        if not 0 <= threshold <= 1:
            raise EvaluationInputError(f"threshold {threshold!r} is invalid: expected 0..1")
        if isinstance(sensitive_features, str):
            sensitive_features = [sensitive_features]
        if isinstance(sensitive_features, pd.DataFrame | Mapping):
            sf = pd.DataFrame(sensitive_features).reset_index(drop=True)
        else:
            sf = _columns(X_test, list(sensitive_features), "sensitive_features")
        proba = np.asarray(model.predict_proba(X_test), dtype=np.float64)
        classes = _classes(model)
        positive_label = _positive(positive_label, classes, name, version)
        score = proba[:, classes.index(positive_label)] if proba.ndim == 2 else proba
        negative = next((c for c in classes if c != positive_label), 0)
        decisions = np.where(score >= threshold, positive_label, negative)
        result = audit_fairness(
            y_test,
            decisions,
            sf,
            policy=policy,
            min_group_size=min_group_size,
            intersections=intersections,
            positive_label=positive_label,
            n_bootstrap=n_bootstrap,
            confidence=confidence,
            seed=seed,
        )
        report = fairness_report(result, subject={**_subject(mv), "threshold": threshold})
        return self._store(
            "fairness", mv, result, report.html, report.data, result.evidence_summary()
        )

    # -- explanations --------------------------------------------------------------------------
    def explain(
        self,
        name: str,
        version: int,
        X: pd.DataFrame,
        *,
        background: pd.DataFrame | None = None,
        max_rows: int = 500,
        sample_budget: int = 200,
        top_k: int = 5,
        seed: int = 0,
        trusted: bool = False,
    ) -> ReportOutcome:
        """SHAP explanation of a model version over ``X`` (importance, effects), as evidence."""
        from falaj.training.explain import explain
        from falaj.training.reports.render import explanation_report

        mv, model = self._load(name, version, "explanation", trusted)
        if background is not None:
            background = _model_inputs(model, background, "background")
        explanation, _ = explain(
            model.raw,
            _model_inputs(model, X, "X"),
            background=background,
            max_rows=max_rows,
            sample_budget=sample_budget,
            seed=seed,
        )
        report = explanation_report(explanation, subject=_subject(mv))
        return self._store(
            "explanation",
            mv,
            explanation,
            report.html,
            report.data,
            explanation.evidence_summary(top_k),
        )

    def explainer(
        self, name: str, version: int | str, background: pd.DataFrame, *, trusted: bool = False
    ) -> Any:
        """The per-prediction explainer of a version (``explain_one(row) -> dict``) for serving."""
        from falaj.training.explain import build_explainer

        _, model = self._load(name, version, "explainer", trusted)
        return build_explainer(model.raw, _model_inputs(model, background, "background"))

    # -- model cards ---------------------------------------------------------------------------
    def model_card(
        self,
        name: str,
        version: int,
        *,
        intended_use: str | None = None,
        out_of_scope: Sequence[str] = (),
        limitations: Sequence[str] = (),
    ) -> ReportOutcome:
        """The model card of a version from its evidence, lineage, run and approvals."""
        from falaj.training.model_card import build_model_card

        for field, value in (("out_of_scope", out_of_scope), ("limitations", limitations)):
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise EvaluationInputError(
                    f"{field}={value!r} is invalid: expected a list of sentences"
                )
        self.authorize(Action.TRAINING_MODEL_CARD, "model_version", f"{name}/{version}")
        registry = self._ws.registry
        with machinery():
            mv = registry.get_version(name, version)
            evidence = registry.evidence(name, mv.version)
            lineage = self._ws.lineage.upstream(Node("model_version", f"{name}/{mv.version}"))
            approvals = registry.approvals(name, mv.version)
            run = self._ws.tracking.get_run(mv.run_id) if mv.run_id else None
            facts, labels = self._dataset_facts(lineage)
            logged = self._ws.tracking.get_logged_model(mv.source_uri) if mv.source_uri else None
        signature = getattr(logged, "signature", None) or {}
        inputs = [str(c["name"]) for c in signature.get("inputs", [])] if signature else None
        card = build_model_card(
            mv,
            evidence=evidence,
            lineage=lineage,
            approvals=approvals,
            run=run,
            intended_use=intended_use,
            out_of_scope=out_of_scope,
            limitations=limitations,
            datasets=facts,
            inputs=inputs,
            classifications=labels,
        )
        markdown = card.markdown()
        data = {**card.as_dict(), "markdown": markdown}
        outcome = self._store(
            "model_card",
            mv,
            card,
            card.html(),
            data,
            card.evidence_summary(
                markdown_digest=_sha256(markdown.encode("utf-8")),
                covers={
                    "evidence": [e.id for e in evidence if e.kind != "model_card"],
                    "approvals": [a.id for a in approvals],
                },
            ),
            extra=[(markdown.encode("utf-8"), "text/markdown")],
        )
        return outcome

    def _dataset_facts(
        self, lineage: Sequence[Any]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
        """Rows, digest and validation status of the training datasets in the lineage, and the
        union of their column classifications."""
        evaluated = {e.source.id for e in lineage if e.relation == "evaluated_on"}
        ids = {
            e.source.id
            for e in lineage
            if e.source.kind == "dataset_version" and e.relation != "evaluated_on"
        } - evaluated
        datasets = self._ws.datasets
        facts: dict[str, dict[str, Any]] = {}
        labels: dict[str, set[str]] = {}
        for ds_id in sorted(ids):
            dname, _, number = ds_id.rpartition("@")
            if not number.isdigit():
                continue
            dv = datasets.get(dname, int(number))
            facts[ds_id] = {
                "rows": dv.row_count,
                "content digest": dv.content_digest,
                "validation": datasets.validation_status(dv.id) or "never validated",
            }
            for column, tags in dv.classifications.items():
                labels.setdefault(column, set()).update(tags)
        return facts, {c: sorted(v) for c, v in labels.items()}

    def _inputs_record(self, mv: Any, model: Any) -> dict[str, Any]:
        """The model's inputs and the sensitive ones its search was allowed, for the evidence."""
        from falaj.errors import FalajError

        record: dict[str, Any] = {"inputs": list(model.input_columns or [])}
        try:
            with machinery():
                params = self._ws.tracking.get_run(mv.run_id).params if mv.run_id else {}
        except FalajError:
            params = {}
        if "features.use_sensitive" in params:
            record["use_sensitive"] = str(params["features.use_sensitive"])
        return record

    # -- plumbing ------------------------------------------------------------------------------
    def _load(
        self, name: str, version: int | str, kind: str, trusted: bool = False
    ) -> tuple[Any, Any]:
        """Authorize ``kind`` on the version, then load it (reads the machinery makes on behalf
        of the authorized call are not authorized again); ``trusted`` as in
        ``ws.registry.load_model``."""
        self.authorize(_ACTIONS[kind], "model_version", f"{name}/{version}")
        registry = self._ws.registry
        with machinery():
            mv = registry.get_version(name, version)
            return mv, registry.load_model(name, mv.version, trusted=trusted)

    def _store(
        self,
        kind: str,
        mv: Any,
        result: Any,
        html: str,
        data: dict[str, Any],
        summary: dict[str, Any],
        *,
        extra: Sequence[tuple[bytes, str]] = (),
        edges: Sequence[tuple[Node, str]] = (),
    ) -> ReportOutcome:
        """Store the report and attach it as evidence, with the judgment's audit event and the
        lineage of the data it judged on: one unit of work (the artifacts' index rows, the
        evidence row, the edges and every audit event commit together or not at all)."""
        from falaj.lineage.graph import record_edge
        from falaj.training.reports.html import dumps

        artifacts = self._ws.artifacts
        target = Node("model_version", f"{mv.name}/{mv.version}")
        with machinery(), self.store.unit_of_work():
            html_info = artifacts.put_bytes(html.encode("utf-8"), media_type="text/html")
            json_info = artifacts.put_bytes(
                dumps(data).encode("utf-8"),
                media_type="application/json",
            )
            for content, media_type in extra:
                artifacts.put_bytes(content, media_type=media_type)
            summary = {
                **summary,
                "model_digest": mv.artifact_digest,
                "report_json": json_info.digest,
            }
            evidence = self._ws.registry.attach_evidence(
                mv.name, mv.version, kind, summary=summary, artifact_digest=html_info.digest
            )
            details = {
                "kind": kind,
                "model_digest": mv.artifact_digest,
                "html_digest": html_info.digest,
                "json_digest": json_info.digest,
            }
            with self.mutation(
                _ACTIONS[kind], "model_version", target.id, details=details, authorized=True
            ) as m:
                for source, relation in edges:  # dataset_version -> model_version
                    record_edge(m.conn, source, target, relation, m.actor.principal)
        return ReportOutcome(kind, result, html, data, html_info.digest, json_info.digest, evidence)


_ACTIONS = {
    "evaluation": Action.TRAINING_EVALUATION,
    "fairness": Action.TRAINING_FAIRNESS,
    "explanation": Action.TRAINING_EXPLANATION,
    "model_card": Action.TRAINING_MODEL_CARD,
    "explainer": Action.MODEL_LOAD,
}


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _classes(model: Any) -> list[Any]:
    """The model's classes as plain Python values (``1``, ``'yes'``; never ``np.int64(1)``)."""
    raw = list(getattr(model.raw, "classes_", [0, 1]))
    return [c.item() if isinstance(c, np.generic) else c for c in raw]


def _positive(label: Any, classes: list[Any], name: str, version: int) -> Any:
    """``label`` (default: the model's last class) as one of ``classes``, or a clear error."""
    if label is None:
        return classes[-1]
    plain = label.item() if isinstance(label, np.generic) else label
    if plain not in classes:
        raise EvaluationInputError(
            f"positive_label {plain!r} is not a class of {name} v{version}: expected one of "
            f"{classes}"
        )
    return plain


def _data_subject(provenance: Any) -> dict[str, Any]:
    name = provenance.dataset_id or "unregistered rows"
    verdict = (
        f"IN-SAMPLE ({provenance.reason}): does not count for the gates"
        if provenance.in_sample
        else "held out"
    )
    return {
        "data": f"{name} ({provenance.rows} rows, sha256:{provenance.content_digest[:12]})",
        "held out": verdict,
    }


def _subject(mv: Any) -> dict[str, Any]:
    return {"model": mv.name, "version": mv.version, "model digest": mv.artifact_digest[:16]}


def _model_inputs(model: Any, X: Any, field: str) -> pd.DataFrame:
    """``X`` as the model's signature sees it (its columns, in order, typed), or a clear error."""
    from falaj.errors import SchemaError
    from falaj.tracking.models.signature import enforce_signature

    if not isinstance(X, pd.DataFrame):
        raise EvaluationInputError(f"{field} is a {type(X).__name__}: expected a DataFrame")
    try:
        return enforce_signature(model.signature, X)
    except SchemaError as exc:
        raise EvaluationInputError(f"{field}: {exc}") from exc


def _columns(X: pd.DataFrame, names: list[str], field: str) -> pd.DataFrame:
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise EvaluationInputError(
            f"{field} names column(s) {missing} that X_test does not have "
            f"(columns: {list(X.columns)})"
        )
    return X[names].reset_index(drop=True)


def _slice_frame(slices: Sequence[str] | pd.DataFrame | None, X: pd.DataFrame) -> Any:
    if slices is None:
        return None
    if isinstance(slices, pd.DataFrame):
        return slices.reset_index(drop=True)
    if isinstance(slices, str):
        raise EvaluationInputError(f"slices={slices!r}: expected a list of column names")
    return _columns(X, list(slices), "slices")
