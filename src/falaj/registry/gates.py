"""Gate evaluation: each condition of a policy against the evidence gathered for a version.

Pure functions over :class:`GateInputs` (what :mod:`falaj.registry.promotion` gathers from the
registry, tracking, data, artifacts and lineage), so every condition is easy to reason about and
to test. Each :class:`Condition` carries the evidence it was judged on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from falaj.registry.basis import CARD_KIND, judged_evidence, same_principal, stale_reason
from falaj.registry.evidence import metric_value
from falaj.registry.models import Approval, Evidence, ModelVersion
from falaj.registry.policy import ChampionMetric, Policy

__all__ = ["Condition", "GateInputs", "GateReport", "evaluate", "screen_evaluations"]


@dataclass(frozen=True)
class Condition:
    """One checked condition: what was required, what was found, on which evidence."""

    kind: str  # status | metric | fairness | validation | report | champion | residency | approvals
    name: str
    passed: bool
    expected: str
    actual: Any
    evidence: str
    justification: str | None = None

    def actual_text(self) -> str:
        """``actual`` for people: numbers to 4 decimals, comparisons as ``name value, ...``."""
        return _fmt(self.actual)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "passed": self.passed,
            "expected": self.expected,
            "actual": self.actual,
            "evidence": self.evidence,
            "justification": self.justification,
        }


@dataclass(frozen=True)
class GateReport:
    name: str
    version: int
    risk: str
    policy_revision: int | None
    conditions: list[Condition]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.conditions)

    @property
    def failures(self) -> list[Condition]:
        return [c for c in self.conditions if not c.passed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "version": self.version,
            "risk": self.risk,
            "policy_revision": self.policy_revision,
            "passed": self.passed,
            "conditions": [c.as_dict() for c in self.conditions],
        }


@dataclass(frozen=True)
class MetricSources:
    """Where a version's metrics come from: its latest evaluation evidence and its run."""

    evaluation: Evidence | None
    run_id: str
    run_metrics: dict[str, float] | None
    run_error: str | None = None
    #: why no evaluation counts although some were attached (in-sample, another dataset); when
    #: set, metrics are not read from the run either: an uncounted evaluation fails the metric
    evaluation_note: str | None = None

    def lookup(self, name: str, source: str) -> tuple[float | None, str]:
        if source in ("any", "evaluation") and self.evaluation is not None:
            value = metric_value(self.evaluation.summary, name)
            if value is not None:
                return value, _evidence_label(self.evaluation)
        if source in ("any", "evaluation") and self.evaluation_note is not None:
            return None, self.evaluation_note
        if source in ("any", "run") and self.run_metrics is not None:
            value = self.run_metrics.get(name)
            if value is not None:
                return float(value), f"run {self.run_id} metric {name}"
        where = {"any": "evaluation evidence or run metrics", "evaluation": "evaluation evidence"}
        missing = where.get(source, "run metrics")
        if source in ("any", "run") and self.run_error:
            missing += f" (run unreadable: {self.run_error})"
        return None, f"no {name!r} in {missing}"


@dataclass(frozen=True)
class GateInputs:
    version: ModelVersion
    evidence: list[Evidence]
    metrics: MetricSources
    champion: ModelVersion | None
    champion_metrics: MetricSources | None
    datasets: dict[str, str | None]
    datasets_error: str | None
    artifact_region: str | None
    approvals: list[Approval] = field(default_factory=list)
    #: every validation run of each input dataset, newest first (``ws.datasets.validations``)
    validations: dict[str, list[Any]] = field(default_factory=dict)


def evaluate(policy: Policy, inputs: GateInputs) -> GateReport:
    """Every condition of ``policy``, in the order the policy file lists its sections."""
    inputs = replace(
        inputs,
        metrics=screen_evaluations(inputs.metrics, inputs.evidence, policy),
        champion_metrics=(
            None
            if inputs.champion_metrics is None
            else screen_evaluations(
                inputs.champion_metrics,
                []
                if inputs.champion_metrics.evaluation is None
                else [inputs.champion_metrics.evaluation],
                policy,
            )
        ),
    )
    conditions: list[Condition] = []
    conditions += _status(inputs)
    conditions += _metrics(policy, inputs)
    conditions += _fairness(policy, inputs)
    conditions += _validation(policy, inputs)
    conditions += _reports(policy, inputs)
    conditions += _champion(policy, inputs)
    conditions += _residency(policy, inputs)
    conditions += _approvals(policy, inputs)
    return GateReport(
        name=inputs.version.name,
        version=inputs.version.version,
        risk=policy.risk,
        policy_revision=policy.revision,
        conditions=conditions,
    )


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    return "-" if value is None else str(value)


def _bounds_text(low: float | None, high: float | None) -> str:
    parts = []
    if low is not None:
        parts.append(f">= {low:g}")
    if high is not None:
        parts.append(f"<= {high:g}")
    return " and ".join(parts)


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _latest(evidence: list[Evidence], kind: str) -> Evidence | None:
    matching = [e for e in evidence if e.kind == kind]
    return matching[-1] if matching else None


def _evidence_label(e: Evidence) -> str:
    digest = f", artifact sha256:{e.artifact_digest[:12]}" if e.artifact_digest else ""
    stamp = e.created_at.strftime("%Y-%m-%d %H:%M:%S")
    label = f"{e.kind} evidence {e.id[:8]} by {e.created_by} at {stamp}{digest}"
    if e.kind == "evaluation":
        label += f" on {_dataset_text(e.summary)}"
    return label


def _dataset_text(summary: dict[str, Any]) -> str:
    data = summary.get("dataset")
    if not isinstance(data, dict):
        return "unnamed data (evaluation recorded no dataset)"
    name = data.get("id") or "an unregistered frame"
    digest = data.get("content_digest")
    rows = data.get("rows")
    extra = ", ".join(
        p
        for p in (
            f"content sha256:{str(digest)[:12]}" if digest else "",
            f"{rows} rows" if rows is not None else "",
        )
        if p
    )
    return f"{name} ({extra})" if extra else str(name)


def _counted(e: Evidence, policy: Policy) -> str | None:
    """Why evaluation ``e`` does not count for the gates (None when it does)."""
    summary = e.summary
    if summary.get("in_sample") is True:
        why = summary.get("in_sample_reason") or "it overlaps the training data"
        return f"evaluation {e.id[:8]} on {_dataset_text(summary)} is in-sample ({why})"
    rule = policy.evaluation
    if rule is not None:
        data = summary.get("dataset")
        dataset_id = data.get("id") if isinstance(data, dict) else None
        if not rule.accepts(dataset_id):
            return (
                f"evaluation {e.id[:8]} ran on {_dataset_text(summary)}, not on "
                f"{' or '.join(rule.datasets)} as the policy requires"
            )
    return None


def screen_evaluations(
    sources: MetricSources, evidence: list[Evidence], policy: Policy
) -> MetricSources:
    """Read metrics from the newest held-out evaluation the policy accepts.

    An in-sample evaluation (on the model's own training data) never satisfies a metric, nor
    does one on a dataset other than ``policy.evaluation`` names; when evaluations exist but none
    counts, the metric fails saying why instead of falling back to the run's metrics.
    """
    evaluations = [e for e in evidence if e.kind == "evaluation"]
    if not evaluations:
        return sources
    refused: list[str] = []
    for e in reversed(evaluations):
        why = _counted(e, policy)
        if why is None:
            return replace(sources, evaluation=e, evaluation_note=None)
        refused.append(why)
    return replace(
        sources, evaluation=None, evaluation_note="no evaluation counts: " + "; ".join(refused)
    )


def _status(inputs: GateInputs) -> list[Condition]:
    """Only READY versions can be approved or promoted: any other status fails the gates."""
    status = inputs.version.status
    if status == "READY":
        return []
    evidence = f"version {inputs.version.version} is {status}: it cannot be approved or promoted"
    return [Condition("status", "version status", False, "READY", status, evidence)]


def _metrics(policy: Policy, inputs: GateInputs) -> list[Condition]:
    result = []
    for rule in policy.metrics:
        value, label = inputs.metrics.lookup(rule.name, rule.source)
        result.append(
            Condition(
                kind="metric",
                name=rule.name,
                passed=value is not None and _within(value, rule.min, rule.max),
                expected=_bounds_text(rule.min, rule.max),
                actual=value,
                evidence=label,
            )
        )
    return result


def _fairness(policy: Policy, inputs: GateInputs) -> list[Condition]:
    report = _latest(inputs.evidence, "fairness")
    result = []
    for rule in policy.fairness:
        value = metric_value(report.summary, rule.metric) if report else None
        if report is None:
            label = "no fairness evidence attached"
        elif value is None:
            label = f"{_evidence_label(report)} has no {rule.metric!r}"
        else:
            label = _evidence_label(report)
            unreliable = report.summary.get("unreliable_groups")
            if unreliable:
                label += f"; unreliable (small) groups: {unreliable}"
        result.append(
            Condition(
                kind="fairness",
                name=rule.metric,
                passed=value is not None and _within(value, rule.min, rule.max),
                expected=_bounds_text(rule.min, rule.max),
                actual=value,
                evidence=label,
                justification=rule.justification,
            )
        )
    return result


def _validation(policy: Policy, inputs: GateInputs) -> list[Condition]:
    rule = policy.validation
    if rule is None:
        return []
    accepted = ("passed",) if rule.require == "passed" else ("passed", "warned")
    expected = f"every input dataset validated: {' or '.join(accepted)}"
    if inputs.datasets_error is not None:
        return [
            Condition("validation", "input datasets", False, expected, None, inputs.datasets_error)
        ]
    if not inputs.datasets:
        return [
            Condition(
                "validation",
                "input datasets",
                False,
                expected,
                None,
                f"run {inputs.version.run_id} recorded no input dataset, so none was validated",
            )
        ]
    result = []
    for dataset_id, status in sorted(inputs.datasets.items()):
        runs = inputs.validations.get(dataset_id)
        if runs is None:  # the data capability reports the status only
            result.append(
                Condition(
                    kind="validation",
                    name=dataset_id,
                    passed=status in accepted and not rule.suites,
                    expected=" or ".join(accepted),
                    actual=status or "never validated",
                    evidence=f"input of run {inputs.version.run_id}; validation status "
                    f"{status or 'none'} (suite details unavailable)",
                )
            )
            continue
        requirements: list[Any] = list(rule.suites) or [None]
        for req in requirements:
            result.append(_suite_condition(dataset_id, runs, req, rule.min_checks, accepted))
    return result


def _suite_condition(
    dataset_id: str, runs: list[Any], req: Any, min_checks: int, accepted: tuple[str, ...]
) -> Condition:
    """The newest validation of ``dataset_id`` by the required suite (any suite when None)."""
    wanted = "any suite" if req is None else f"suite {req.name!r}"
    if req is not None and req.digest:
        wanted += f" sha256:{req.digest[:12]}"
    matching = [
        r
        for r in runs
        if req is None
        or (r.suite_name == req.name and (not req.digest or r.suite_digest.startswith(req.digest)))
    ]
    expected = f"{wanted} with >= {min_checks} check(s): {' or '.join(accepted)}"
    name = dataset_id if req is None else f"{dataset_id} / {req.name}"
    if not matching:
        seen = sorted({f"{r.suite_name} ({r.checks_total} checks)" for r in runs})
        return Condition(
            "validation",
            name,
            False,
            expected,
            "never validated",
            f"no validation of {dataset_id} by {wanted}"
            + (f"; suites run: {', '.join(seen)}" if seen else ""),
        )
    latest = matching[0]
    checks = int(latest.checks_total)
    passed = latest.status in accepted and checks >= min_checks
    evidence = (
        f"validation {str(latest.id)[:8]} of {dataset_id}: suite {latest.suite_name!r} "
        f"sha256:{str(latest.suite_digest)[:12]}, {checks} check(s), "
        f"{latest.checks_failed} failed, status {latest.status}"
    )
    if checks < min_checks:
        evidence += f"; fewer than the {min_checks} check(s) required"
    return Condition(
        "validation",
        name,
        passed,
        expected,
        latest.status,
        evidence,
    )


def _reports(policy: Policy, inputs: GateInputs) -> list[Condition]:
    result = []
    for kind in policy.reports:
        found = _latest(inputs.evidence, kind)
        stale = _stale_card(found, inputs) if found is not None and kind == CARD_KIND else None
        label = _evidence_label(found) if found else f"no {kind!r} evidence attached"
        if stale:
            label += f"; out of date: {stale}: write the model card again"
        result.append(
            Condition(
                kind="report",
                name=kind,
                passed=found is not None and stale is None,
                expected="attached"
                + (", newer than every other evidence and approval" if kind == CARD_KIND else ""),
                actual=("out of date" if stale else "attached") if found else "missing",
                evidence=label,
            )
        )
    return result


def _stale_card(card: Evidence, inputs: GateInputs) -> str | None:
    """What a model card does not cover: evidence or approvals recorded after it was written."""
    covers = card.summary.get("covers")
    judged = judged_evidence(inputs.evidence)
    if isinstance(covers, dict):
        seen_ev = set(covers.get("evidence") or [])
        seen_ap = set(covers.get("approvals") or [])
        later_ev = [e for e in judged if e.id not in seen_ev]
        later_ap = [a for a in inputs.approvals if a.id not in seen_ap]
    else:  # a card attached by hand: compare times
        later_ev = [e for e in judged if e.created_at > card.created_at]
        later_ap = [a for a in inputs.approvals if a.created_at > card.created_at]
    parts = [f"{e.kind} {e.id[:8]}" for e in later_ev]
    parts += [f"approval by {a.approver}" for a in later_ap]
    return f"it predates {', '.join(parts)}" if parts else None


def _champion(policy: Policy, inputs: GateInputs) -> list[Condition]:
    rule = policy.champion
    if rule is None:
        return []
    champion = inputs.champion
    if champion is None or inputs.champion_metrics is None:
        return [
            Condition(
                "champion",
                f"vs {rule.alias}",
                True,
                "no regression against the current holder",
                None,
                f"alias {rule.alias!r} points at no version yet: nothing to compare",
            )
        ]
    return [_compare(m, rule.alias, champion, inputs) for m in rule.metrics]


def _compare(
    metric: ChampionMetric, alias: str, champion: ModelVersion, inputs: GateInputs
) -> Condition:
    assert inputs.champion_metrics is not None
    mine, my_label = inputs.metrics.lookup(metric.name, metric.source)
    theirs, their_label = inputs.champion_metrics.lookup(metric.name, metric.source)
    if metric.max_drop is not None:
        expected = f"drop vs {alias} v{champion.version} <= {metric.max_drop:g}"
    else:
        expected = f"increase vs {alias} v{champion.version} <= {metric.max_increase:g}"
    evidence = f"candidate: {my_label}; {alias} v{champion.version}: {their_label}"
    if mine is None or theirs is None:
        return Condition("champion", metric.name, False, expected, None, evidence)
    if metric.max_drop is not None:
        change = theirs - mine
        passed = change <= metric.max_drop + 1e-12
        actual = {"candidate": mine, alias: theirs, "drop": round(change, 12)}
    else:
        assert metric.max_increase is not None
        change = mine - theirs
        passed = change <= metric.max_increase + 1e-12
        actual = {"candidate": mine, alias: theirs, "increase": round(change, 12)}
    return Condition("champion", metric.name, passed, expected, actual, evidence)


def _residency(policy: Policy, inputs: GateInputs) -> list[Condition]:
    rule = policy.residency
    if rule is None:
        return []
    region = inputs.artifact_region
    return [
        Condition(
            kind="residency",
            name="artifact region",
            passed=region in rule.allowed_regions,
            expected=f"one of {', '.join(rule.allowed_regions)}",
            actual=region,
            evidence=f"model artifact sha256:{inputs.version.artifact_digest[:12]} "
            f"stored in region {region or 'unknown'}",
        )
    ]


def _approvals(policy: Policy, inputs: GateInputs) -> list[Condition]:
    rule = policy.approvals
    if rule is None:
        return []
    creator = inputs.version.created_by
    valid: list[Approval] = []
    stale: list[str] = []
    for a in inputs.approvals:
        if same_principal(a.approver, creator) or (
            rule.role is not None and rule.role not in a.roles
        ):
            continue
        why = stale_reason(
            a,
            policy_revision=policy.revision,
            model_digest=inputs.version.artifact_digest,
            evidence=inputs.evidence,
        )
        if why is None:
            valid.append(a)
        else:
            stale.append(f"{a.approver}: {why}")
    role = f" with role {rule.role!r}" if rule.role else ""
    listed = ", ".join(
        f"{a.approver} at {a.created_at.strftime('%Y-%m-%d %H:%M:%S')}" for a in valid
    )
    evidence = f"approved by {listed}" if valid else "no qualifying approval recorded"
    if stale:
        evidence += "; no longer counting: " + "; ".join(stale)
    revision = f" under policy revision {policy.revision}" if policy.revision else ""
    return [
        Condition(
            kind="approvals",
            name=f"approvals{role}",
            passed=len(valid) >= rule.count,
            expected=f">= {rule.count} approval(s){role}{revision}, not by the creator, "
            "given after the latest evidence",
            actual=len(valid),
            evidence=evidence,
        )
    ]
