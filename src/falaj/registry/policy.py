"""Gate policies: one YAML file per registered model, parsed with line-precise errors.

Example (every section but ``risk`` is optional; a section that is absent checks nothing)::

    risk: high                          # low | medium | high: carried into the change record
    metrics:                            # from evidence "evaluation", else the run's metrics
      roc_auc: {min: 0.70}
      log_loss: {max: 0.60, source: run}            # source: any (default) | evaluation | run
    fairness:                           # from evidence "fairness"; no hidden defaults
      demographic_parity_difference:
        max: 0.10
        justification: "Lending regulation: ..."   # required, carried into the report
    evaluation: {dataset: credit_holdout}   # evaluations counted: on this dataset (NAME[@V])
    validation:                         # every input dataset of the run
      require: passed                   # or passed_or_warned
      suites: [credit-basic]            # suites that must have run (name, or {name, digest})
      min_checks: 5                     # each required suite has at least this many checks
    reports: [evaluation, fairness, model_card]     # evidence kinds that must be attached
    champion:                           # compared with the version the alias points at now
      alias: champion
      metrics:
        roc_auc: {max_drop: 0.005}      # higher is better: may not drop more than this
        log_loss: {max_increase: 0.01}  # lower is better: may not rise more than this
    residency: {allowed_regions: [ae-dubai-1]}     # where the model's artifact is stored
    approvals: {count: 1, role: risk-approver}

A malformed file is a :class:`PolicyParseError` naming the line, the field and what was expected.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from falaj.errors import InvalidInputError
from falaj.registry.errors import PolicyParseError
from falaj.registry.models import check_alias
from falaj.yamlsafe import compose_yaml

__all__ = [
    "ApprovalRule",
    "ChampionMetric",
    "ChampionRule",
    "EvaluationRule",
    "FairnessRule",
    "MetricRule",
    "Policy",
    "ResidencyRule",
    "SuiteRequirement",
    "ValidationRule",
    "parse_policy",
]

RISK_LEVELS = ("low", "medium", "high")
METRIC_SOURCES = ("any", "evaluation", "run")
VALIDATION_REQUIREMENTS = ("passed", "passed_or_warned")
_SECTIONS = (
    "risk",
    "metrics",
    "fairness",
    "evaluation",
    "validation",
    "reports",
    "champion",
    "residency",
    "approvals",
)


@dataclass(frozen=True)
class MetricRule:
    name: str
    min: float | None
    max: float | None
    source: str
    line: int


@dataclass(frozen=True)
class FairnessRule:
    metric: str
    min: float | None
    max: float | None
    justification: str
    line: int


@dataclass(frozen=True)
class SuiteRequirement:
    """A validation suite the policy requires, by name and (once pinned) digest."""

    name: str
    digest: str | None = None


@dataclass(frozen=True)
class ValidationRule:
    require: str
    line: int
    suites: tuple[SuiteRequirement, ...] = ()
    min_checks: int = 1


@dataclass(frozen=True)
class EvaluationRule:
    """Which evaluation datasets count (``NAME`` any version, ``NAME@V`` exactly that one)."""

    datasets: tuple[str, ...]
    line: int

    def accepts(self, dataset_id: str | None) -> bool:
        if not dataset_id:
            return False
        name = dataset_id.partition("@")[0]
        return any(d == dataset_id or ("@" not in d and d == name) for d in self.datasets)


@dataclass(frozen=True)
class ChampionMetric:
    name: str
    max_drop: float | None
    max_increase: float | None
    source: str
    line: int


@dataclass(frozen=True)
class ChampionRule:
    alias: str
    metrics: tuple[ChampionMetric, ...]
    line: int


@dataclass(frozen=True)
class ResidencyRule:
    allowed_regions: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class ApprovalRule:
    count: int
    role: str | None
    line: int


@dataclass(frozen=True)
class Policy:
    risk: str
    metrics: tuple[MetricRule, ...] = ()
    fairness: tuple[FairnessRule, ...] = ()
    evaluation: EvaluationRule | None = None
    validation: ValidationRule | None = None
    reports: tuple[str, ...] = ()
    champion: ChampionRule | None = None
    residency: ResidencyRule | None = None
    approvals: ApprovalRule | None = None
    text: str = ""
    revision: int | None = None


def parse_policy(text: str, *, source: str = "policy") -> Policy:
    """Parse and validate a policy document; errors name ``source``, the line and the field."""
    if not isinstance(text, str):
        raise PolicyParseError(f"{source}: expected YAML text, got {type(text).__name__}")
    root = compose_yaml(text, source=source, error=PolicyParseError)
    if root is None:
        raise PolicyParseError(f"{source}: the policy is empty; it needs at least 'risk'")
    p = _Parser(source)
    sections = p.mapping(root, "policy", allowed=_SECTIONS)
    if "risk" not in sections:
        raise PolicyParseError(
            f"{source} line {root.start_mark.line + 1}: 'risk' is missing: expected one of "
            f"{', '.join(RISK_LEVELS)}"
        )
    return Policy(
        risk=p.choice(sections["risk"], "risk", RISK_LEVELS),
        metrics=p.metric_rules(sections.get("metrics")),
        fairness=p.fairness_rules(sections.get("fairness")),
        evaluation=p.evaluation_rule(sections.get("evaluation")),
        validation=p.validation_rule(sections.get("validation")),
        reports=p.reports(sections.get("reports")),
        champion=p.champion_rule(sections.get("champion")),
        residency=p.residency_rule(sections.get("residency")),
        approvals=p.approval_rule(sections.get("approvals")),
        text=text,
    )


class _Parser:
    """Walks composed YAML nodes so every error can point at its line."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: Node, where: str, message: str) -> PolicyParseError:
        return PolicyParseError(
            f"{self.source} line {node.start_mark.line + 1}: {where}: {message}"
        )

    # -- primitives ----------------------------------------------------------------------------
    def value(self, node: Node, where: str) -> Any:
        if not isinstance(node, ScalarNode):
            raise self.fail(node, where, "expected a single value, got a list or mapping")
        try:
            return SafeConstructor().construct_object(node, deep=True)
        except ConstructorError as exc:
            raise self.fail(node, where, f"cannot read value: {exc.problem}") from exc
        except (ValueError, TypeError, AttributeError) as exc:  # e.g. '!!int x', '!!timestamp x'
            raise self.fail(node, where, f"cannot read {node.value!r} as {node.tag}") from exc

    def mapping(
        self, node: Node, where: str, *, allowed: tuple[str, ...] | None = None
    ) -> dict[str, Node]:
        if not isinstance(node, MappingNode):
            raise self.fail(node, where, "expected a mapping of keys to values")
        result: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node, where)
            if not isinstance(key, str):
                raise self.fail(key_node, where, f"key {key!r} must be a name")
            if key in result:
                raise self.fail(key_node, f"{where}.{key}", "appears twice")
            if allowed is not None and key not in allowed:
                raise self.fail(
                    key_node, where, f"unknown key {key!r}: expected one of {', '.join(allowed)}"
                )
            result[key] = value_node
        return result

    def named(self, node: Node, where: str) -> dict[str, Node]:
        """A mapping keyed by metric names: every key must be a non-empty name."""
        items = self.mapping(node, where)
        for key_node, _ in node.value:
            key = self.value(key_node, where)
            if not key.strip():
                raise self.fail(key_node, where, f"{key!r} is not a metric name")
        return items

    def number(self, node: Node, where: str) -> float:
        value = self.value(node, where)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.fail(node, where, f"{value!r} is not a number")
        return float(value)

    def text(self, node: Node, where: str) -> str:
        value = self.value(node, where)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(node, where, f"{value!r} is not a non-empty text")
        return value.strip()

    def choice(self, node: Node, where: str, choices: tuple[str, ...]) -> str:
        value = self.value(node, where)
        if value not in choices:
            raise self.fail(
                node, where, f"{value!r} is invalid: expected one of {', '.join(choices)}"
            )
        return str(value)

    def texts(self, node: Node, where: str) -> tuple[str, ...]:
        if not isinstance(node, SequenceNode):
            raise self.fail(node, where, "expected a list, e.g. [a, b]")
        return tuple(self.text(item, f"{where}[{i}]") for i, item in enumerate(node.value))

    def bounds(self, fields: dict[str, Node], node: Node, where: str) -> tuple[float | None, ...]:
        low = self.number(fields["min"], f"{where}.min") if "min" in fields else None
        high = self.number(fields["max"], f"{where}.max") if "max" in fields else None
        if low is None and high is None:
            raise self.fail(node, where, "expected a threshold: 'min', 'max' or both")
        if low is not None and high is not None and low > high:
            raise self.fail(node, where, f"min {low} is greater than max {high}")
        return low, high

    # -- sections ------------------------------------------------------------------------------
    def metric_rules(self, node: Node | None) -> tuple[MetricRule, ...]:
        if node is None:
            return ()
        rules = []
        for name, spec in self.named(node, "metrics").items():
            where = f"metrics.{name}"
            fields = self.mapping(spec, where, allowed=("min", "max", "source"))
            low, high = self.bounds(fields, spec, where)
            source = (
                self.choice(fields["source"], f"{where}.source", METRIC_SOURCES)
                if "source" in fields
                else "any"
            )
            rules.append(MetricRule(name, low, high, source, spec.start_mark.line + 1))
        return tuple(rules)

    def fairness_rules(self, node: Node | None) -> tuple[FairnessRule, ...]:
        if node is None:
            return ()
        rules = []
        for metric, spec in self.named(node, "fairness").items():
            where = f"fairness.{metric}"
            fields = self.mapping(spec, where, allowed=("min", "max", "justification"))
            low, high = self.bounds(fields, spec, where)
            if "justification" not in fields:
                raise self.fail(
                    spec,
                    where,
                    "'justification' is missing: every fairness threshold must say why it was "
                    "chosen (it is carried into the gate report)",
                )
            justification = self.text(fields["justification"], f"{where}.justification")
            rules.append(FairnessRule(metric, low, high, justification, spec.start_mark.line + 1))
        return tuple(rules)

    def validation_rule(self, node: Node | None) -> ValidationRule | None:
        if node is None:
            return None
        fields = self.mapping(node, "validation", allowed=("require", "suites", "min_checks"))
        if "require" not in fields:
            raise self.fail(
                node, "validation", f"'require' is missing: expected {VALIDATION_REQUIREMENTS}"
            )
        require = self.choice(fields["require"], "validation.require", VALIDATION_REQUIREMENTS)
        suites: list[SuiteRequirement] = []
        if "suites" in fields:
            seq = fields["suites"]
            if not isinstance(seq, SequenceNode) or not seq.value:
                raise self.fail(
                    seq, "validation.suites", "expected a non-empty list of suite names"
                )
            for i, item in enumerate(seq.value):
                where = f"validation.suites[{i}]"
                if isinstance(item, MappingNode):
                    sub = self.mapping(item, where, allowed=("name", "digest"))
                    if "name" not in sub:
                        raise self.fail(item, where, "'name' is missing: the suite's name")
                    digest = (
                        self.text(sub["digest"], f"{where}.digest") if "digest" in sub else None
                    )
                    if digest is not None and not re.fullmatch(r"[0-9a-f]{8,64}", digest):
                        raise self.fail(
                            sub["digest"], f"{where}.digest", f"{digest!r} is not a hex digest"
                        )
                    suites.append(SuiteRequirement(self.text(sub["name"], f"{where}.name"), digest))
                else:
                    suites.append(SuiteRequirement(self.text(item, where)))
        min_checks = 1
        if "min_checks" in fields:
            value = self.value(fields["min_checks"], "validation.min_checks")
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise self.fail(
                    fields["min_checks"],
                    "validation.min_checks",
                    f"{value!r} is not a positive integer",
                )
            min_checks = value
        return ValidationRule(require, node.start_mark.line + 1, tuple(suites), min_checks)

    def evaluation_rule(self, node: Node | None) -> EvaluationRule | None:
        if node is None:
            return None
        fields = self.mapping(node, "evaluation", allowed=("dataset",))
        if "dataset" not in fields:
            raise self.fail(
                node, "evaluation", "'dataset' is missing: the dataset (NAME or NAME@V) to accept"
            )
        target = fields["dataset"]
        names = (
            self.texts(target, "evaluation.dataset")
            if isinstance(target, SequenceNode)
            else (self.text(target, "evaluation.dataset"),)
        )
        for name in names:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,199}(@[1-9][0-9]*)?", name):
                raise self.fail(
                    target, "evaluation.dataset", f"{name!r} is not NAME or NAME@VERSION"
                )
        if not names:
            raise self.fail(target, "evaluation.dataset", "expected at least one dataset")
        return EvaluationRule(names, node.start_mark.line + 1)

    def reports(self, node: Node | None) -> tuple[str, ...]:
        return () if node is None else self.texts(node, "reports")

    def champion_rule(self, node: Node | None) -> ChampionRule | None:
        if node is None:
            return None
        fields = self.mapping(node, "champion", allowed=("alias", "metrics"))
        alias = self.text(fields["alias"], "champion.alias") if "alias" in fields else "champion"
        try:
            check_alias(alias)
        except InvalidInputError as exc:
            raise self.fail(fields["alias"], "champion.alias", str(exc)) from None
        if "metrics" not in fields:
            raise self.fail(node, "champion", "'metrics' is missing: what to compare")
        metrics = []
        for name, spec in self.named(fields["metrics"], "champion.metrics").items():
            where = f"champion.metrics.{name}"
            sub = self.mapping(spec, where, allowed=("max_drop", "max_increase", "source"))
            drop = self.number(sub["max_drop"], f"{where}.max_drop") if "max_drop" in sub else None
            rise = (
                self.number(sub["max_increase"], f"{where}.max_increase")
                if "max_increase" in sub
                else None
            )
            if (drop is None) == (rise is None):
                raise self.fail(
                    spec,
                    where,
                    "expected exactly one of 'max_drop' (higher is better) or 'max_increase' "
                    "(lower is better)",
                )
            if (drop is not None and drop < 0) or (rise is not None and rise < 0):
                raise self.fail(spec, where, "the allowed change must be zero or positive")
            source = (
                self.choice(sub["source"], f"{where}.source", METRIC_SOURCES)
                if "source" in sub
                else "any"
            )
            metrics.append(ChampionMetric(name, drop, rise, source, spec.start_mark.line + 1))
        return ChampionRule(alias, tuple(metrics), node.start_mark.line + 1)

    def residency_rule(self, node: Node | None) -> ResidencyRule | None:
        if node is None:
            return None
        fields = self.mapping(node, "residency", allowed=("allowed_regions",))
        if "allowed_regions" not in fields:
            raise self.fail(node, "residency", "'allowed_regions' is missing")
        regions = self.texts(fields["allowed_regions"], "residency.allowed_regions")
        if not regions:
            raise self.fail(node, "residency.allowed_regions", "expected at least one region")
        return ResidencyRule(regions, node.start_mark.line + 1)

    def approval_rule(self, node: Node | None) -> ApprovalRule | None:
        if node is None:
            return None
        fields = self.mapping(node, "approvals", allowed=("count", "role"))
        count_node = fields.get("count")
        if count_node is None:
            raise self.fail(node, "approvals", "'count' is missing: how many approvals")
        count = self.value(count_node, "approvals.count")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise self.fail(count_node, "approvals.count", f"{count!r} is not a positive integer")
        role = self.text(fields["role"], "approvals.role") if "role" in fields else None
        return ApprovalRule(count, role, node.start_mark.line + 1)
