"""Model cards: one per model version, with the sections of the Model Card Toolkit and the
Hugging Face model card template, filled from what the workspace recorded.

Sections (``CARD_SECTIONS``): model details (with the model's inputs and their
classifications); intended use (with out-of-scope uses); training data with its lineage;
evaluation with intervals and the dataset it ran on; fairness; explainability; limitations (the
stated ones and those the evidence shows: a failed fairness verdict, a warned validation, an
in-sample evaluation, small groups, wide intervals); approvals. What was not recorded is said
so in the card ("not recorded"), never invented. The card's evidence summary lists the evidence
and approvals it covers, so the gates can refuse a card older than them.
Rendered to Markdown and to self-contained HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from falaj.training.reports.html import page

__all__ = ["CARD_SECTIONS", "CardSection", "ModelCard", "build_model_card"]

CARD_SECTIONS: tuple[tuple[str, str], ...] = (
    ("model_details", "Model details"),
    ("intended_use", "Intended use"),
    ("training_data", "Training data and lineage"),
    ("evaluation", "Evaluation"),
    ("fairness", "Fairness"),
    ("explainability", "Explainability"),
    ("limitations", "Limitations"),
    ("approvals", "Approvals"),
)
NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class CardSection:
    key: str
    title: str
    facts: list[tuple[str, str]]
    items: list[str]

    def markdown(self) -> str:
        lines = [f"## {self.title}", ""]
        lines.extend(f"- **{k}**: {v}" for k, v in self.facts)
        lines.extend(f"- {item}" for item in self.items)
        if not self.facts and not self.items:
            lines.append(f"_{NOT_RECORDED}_")
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in self.facts)
        parts = [f"<table>{rows}</table>"] if rows else []
        if self.items:
            parts.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in self.items) + "</ul>")
        return "".join(parts) or f"<p><em>{NOT_RECORDED}</em></p>"

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "facts": dict(self.facts),
            "items": self.items,
        }


@dataclass(frozen=True)
class ModelCard:
    name: str
    version: int
    sections: list[CardSection]

    def section(self, key: str) -> CardSection:
        return next(s for s in self.sections if s.key == key)

    def markdown(self) -> str:
        head = f"# Model card: {self.name} version {self.version}\n\n"
        return head + "\n".join(s.markdown() for s in self.sections)

    def html(self) -> str:
        return page(
            f"Model card: {self.name} version {self.version}",
            [(s.title, s.html()) for s in self.sections],
            meta={"model": self.name, "version": self.version},
            data=self.as_dict(),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "sections": [s.as_dict() for s in self.sections],
        }

    def json(self) -> str:
        from falaj.training.reports.html import dumps

        return dumps(self.as_dict())

    def evidence_summary(self, **extra: Any) -> dict[str, Any]:
        """The ``model_card`` evidence shape: the section keys (plus any digests given)."""
        return {"sections": [s.key for s in self.sections], **extra}


def _num(value: Any) -> str:
    """Numbers for people: counts as integers (``1000``), measurements to 4 significant digits."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 1):
        return str(int(value))
    return f"{value:.4g}"


def _latest(evidence: Sequence[Any], kind: str) -> Any:
    items = [e for e in evidence if e.kind == kind]
    return max(items, key=lambda e: e.created_at) if items else None


def build_model_card(
    version: Any,
    *,
    evidence: Sequence[Any] = (),
    lineage: Sequence[Any] = (),
    approvals: Sequence[Any] = (),
    run: Any = None,
    intended_use: str | None = None,
    out_of_scope: Sequence[str] = (),
    limitations: Sequence[str] = (),
    datasets: Mapping[str, Mapping[str, Any]] | None = None,
    inputs: Sequence[str] | None = None,
    classifications: Mapping[str, Sequence[str]] | None = None,
) -> ModelCard:
    """The card of registry ``version`` from its evidence, lineage edges, approvals and run.

    ``datasets`` optionally describes the dataset versions in the lineage (``{id: {"rows": n,
    "content_digest": ..., "validation": "passed"}}``). ``inputs`` are the model's input
    columns (its signature) and ``classifications`` their labels in the training data.
    """
    facts = datasets or {}
    sections = [
        _details(version, run, inputs, classifications or {}),
        _intended(intended_use, out_of_scope),
        _training_data(lineage, facts, run),
        _evaluation(_latest(evidence, "evaluation")),
        _fairness(_latest(evidence, "fairness")),
        _explainability(_latest(evidence, "explanation")),
        _limitations(limitations, evidence, facts),
        _approvals(approvals),
    ]
    return ModelCard(version.name, int(version.version), sections)


def _inputs_fact(
    inputs: Sequence[str] | None, classifications: Mapping[str, Sequence[str]], run: Any
) -> list[tuple[str, str]]:
    if inputs is None:
        return [("inputs", NOT_RECORDED)]
    listed = ", ".join(
        f"{c} ({', '.join(classifications[c])})" if classifications.get(c) else c for c in inputs
    )
    facts = [("inputs", listed or NOT_RECORDED)]
    if run is not None:
        for key, label in (
            ("features.use_sensitive", "sensitive inputs allowed by the spec"),
            ("features.dropped", "columns not used as inputs"),
        ):
            if key in run.params:
                facts.append((label, str(run.params[key])))
    return facts


def _details(
    v: Any, run: Any, inputs: Sequence[str] | None, classifications: Mapping[str, Sequence[str]]
) -> CardSection:
    facts = [
        ("name", str(v.name)),
        ("version", str(v.version)),
        ("status", str(v.status)),
        ("flavor", str(v.flavor)),
        ("artifact digest", f"sha256:{v.artifact_digest}"),
        ("created by", str(v.created_by)),
        ("created at", v.created_at.isoformat()),
        ("training run", str(v.run_id)),
        ("description", v.description or NOT_RECORDED),
    ]
    if run is not None:
        params = {
            k: val for k, val in run.params.items() if not k.startswith(("budget.", "features."))
        }
        if params:
            facts.append(
                ("parameters", ", ".join(f"{k}={val}" for k, val in sorted(params.items())))
            )
    facts.extend(_inputs_fact(inputs, classifications, run))
    facts.extend((f"tag {k}", str(val)) for k, val in sorted(v.tags.items()))
    return CardSection("model_details", "Model details", facts, [])


def _intended(intended: str | None, out_of_scope: Sequence[str]) -> CardSection:
    facts = [("intended use", intended or NOT_RECORDED)]
    items = [f"out of scope: {item}" for item in out_of_scope] or [
        f"out-of-scope uses: {NOT_RECORDED}"
    ]
    return CardSection("intended_use", "Intended use", facts, items)


def _training_data(
    lineage: Sequence[Any], datasets: Mapping[str, Mapping[str, Any]], run: Any
) -> CardSection:
    items: list[str] = []
    seen: set[str] = set()
    for edge in lineage:
        if str(edge.relation).startswith("evidence:"):
            continue  # reports about the model, not data it was trained on
        source = edge.source
        text = f"{source.kind} {source.id} --{edge.relation}--> {edge.target.kind} {edge.target.id}"
        if text not in seen:
            seen.add(text)
            items.append(text)
    facts: list[tuple[str, str]] = []
    evaluated = {e.source.id for e in lineage if e.relation == "evaluated_on"}
    trained = {
        e.source.id
        for e in lineage
        if e.source.kind == "dataset_version" and e.relation != "evaluated_on"
    }
    for ds_id in sorted(trained - evaluated):
        info = datasets.get(ds_id, {})
        described = ", ".join(f"{k} {_num(v)}" for k, v in info.items()) or "in the lineage"
        facts.append((f"dataset {ds_id}", described))
    if run is not None and not facts:
        inputs = getattr(run, "inputs", [])
        facts.extend((f"dataset {i.dataset_version_id}", i.context) for i in inputs)
    if not facts:
        facts.append(("datasets", f"{NOT_RECORDED} (no dataset version in the lineage)"))
    return CardSection("training_data", "Training data and lineage", facts, items)


def _evaluation(ev: Any) -> CardSection:
    if ev is None:
        return CardSection("evaluation", "Evaluation", [("evaluation", NOT_RECORDED)], [])
    s = ev.summary
    intervals = s.get("intervals", {})
    level = s.get("confidence")
    data = s.get("dataset") if isinstance(s.get("dataset"), dict) else None
    if data is None:
        where = NOT_RECORDED
    else:
        digest = data.get("content_digest")
        where = f"{data.get('id') or 'unregistered rows'}" + (
            f" (content sha256:{str(digest)[:16]})" if digest else ""
        )
    in_sample = s.get("in_sample")
    kind = (
        "not recorded"
        if in_sample is None
        else (f"IN-SAMPLE: {s.get('in_sample_reason')}" if in_sample else "held out")
    )
    facts = [
        ("evaluation dataset", where),
        ("held out", kind),
        ("rows", _num(s.get("n_samples", NOT_RECORDED))),
    ]
    if "positive_label" in s:
        facts.append(("positive class", str(s["positive_label"])))
    for name, value in s.get("metrics", {}).items():
        lo_hi = intervals.get(name)
        ci = (
            f" ({_num(level * 100)}% interval {_num(lo_hi[0])} to {_num(lo_hi[1])})"
            if lo_hi and None not in lo_hi and level
            else ""
        )
        facts.append((name, f"{_num(value)}{ci}"))
    if ev.artifact_digest:
        facts.append(("full report", f"sha256:{ev.artifact_digest}"))
    return CardSection("evaluation", "Evaluation", facts, [])


def _fairness(ev: Any) -> CardSection:
    if ev is None:
        return CardSection("fairness", "Fairness", [("fairness audit", NOT_RECORDED)], [])
    s = ev.summary
    passed = s.get("passed")
    verdict = "no verdict (no policy)" if passed is None else ("passed" if passed else "FAILED")
    facts = [
        ("sensitive features", ", ".join(s.get("sensitive_features", [])) or NOT_RECORDED),
        ("verdict", verdict),
    ]
    facts.extend((name, _num(value)) for name, value in s.get("metrics", {}).items())
    items = [
        f"threshold: {t['metric']} {'<=' if t.get('max') is not None else '>='} "
        f"{_num(t.get('max') if t.get('max') is not None else t.get('min'))} "
        f"because: {t.get('justification', '')}"
        for t in s.get("thresholds", [])
    ]
    items.extend(f"unreliable group (too small): {g}" for g in s.get("unreliable_groups", []))
    if ev.artifact_digest:
        facts.append(("full report", f"sha256:{ev.artifact_digest}"))
    return CardSection("fairness", "Fairness", facts, items)


def _explainability(ev: Any) -> CardSection:
    if ev is None:
        return CardSection("explainability", "Explainability", [("explanation", NOT_RECORDED)], [])
    s = ev.summary
    facts = [
        ("method", str(s.get("method", NOT_RECORDED))),
        ("top features", ", ".join(s.get("top_features", [])) or NOT_RECORDED),
    ]
    importance = s.get("importance", {})
    items = [f"{k}: mean |contribution| {_num(v)}" for k, v in importance.items()]
    if ev.artifact_digest:
        facts.append(("full report", f"sha256:{ev.artifact_digest}"))
    return CardSection("explainability", "Explainability", facts, items)


def _limitations(
    stated: Sequence[str], evidence: Sequence[Any], datasets: Mapping[str, Mapping[str, Any]]
) -> CardSection:
    items = list(stated)
    fairness = _latest(evidence, "fairness")
    if fairness is None:
        items.append("No fairness audit is recorded for this version.")
    else:
        if fairness.summary.get("passed") is False:
            failed = [
                f"{t['metric']} (limit {_num(t.get('max', t.get('min')))})"
                for t in fairness.summary.get("thresholds", [])
            ]
            items.append(
                "The fairness audit FAILED its policy"
                + (f" (thresholds: {', '.join(failed)})" if failed else "")
                + ": sensitive features "
                + ", ".join(fairness.summary.get("sensitive_features", []))
                + "."
            )
        for group in fairness.summary.get("unreliable_groups", []):
            items.append(f"Group {group} is too small for reliable fairness metrics.")
    for ds_id, info in sorted(datasets.items()):
        status = info.get("validation")
        if status in ("warned", "failed"):
            items.append(
                f"Training data {ds_id} {status} its validation: some checks did not pass."
            )
    evaluation = _latest(evidence, "evaluation")
    if evaluation is None:
        items.append("No held-out evaluation is recorded for this version.")
    elif evaluation.summary.get("in_sample") is True:
        items.append(
            "The latest evaluation is in-sample "
            f"({evaluation.summary.get('in_sample_reason')}): its metrics overstate how the "
            "model does on new data."
        )
    else:
        for name, (lo, hi) in evaluation.summary.get("intervals", {}).items():
            if (
                lo is not None
                and hi is not None
                and name in ("roc_auc", "accuracy", "r2")
                and (hi - lo > 0.1)
            ):
                items.append(
                    f"The {name} interval is wide ({_num(lo)} to {_num(hi)}): "
                    "the held-out set is small for this estimate."
                )
    return CardSection("limitations", "Limitations", [], items or [f"limitations: {NOT_RECORDED}"])


def _approvals(approvals: Sequence[Any]) -> CardSection:
    items = [
        f"{a.approver} ({', '.join(a.roles) or 'no role'}) on {a.created_at.isoformat()}: "
        f"{a.comment}"
        for a in approvals
    ]
    facts = [("approvals", str(len(approvals)))] if approvals else [("approvals", "none yet")]
    return CardSection("approvals", "Approvals", facts, items)
