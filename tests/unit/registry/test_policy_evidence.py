"""Issue 10: the policy sections that name the evidence a gate accepts parse with line-precise
errors (evaluation dataset, required suites, minimum check count)."""

from __future__ import annotations

import pytest

from falaj.registry.errors import PolicyParseError
from falaj.registry.policy import SuiteRequirement, parse_policy


def test_required_suites_min_checks_and_evaluation_dataset_parse() -> None:
    policy = parse_policy(
        "risk: high\n"
        "evaluation: {dataset: [credit_holdout, credit_oot@3]}\n"
        "validation:\n"
        "  require: passed\n"
        "  suites: [credit-basic, {name: credit-pii, digest: 0a1b2c3d4e5f}]\n"
        "  min_checks: 5\n"
    )
    assert policy.validation is not None and policy.evaluation is not None
    assert policy.validation.suites == (
        SuiteRequirement("credit-basic"),
        SuiteRequirement("credit-pii", "0a1b2c3d4e5f"),
    )
    assert policy.validation.min_checks == 5
    assert policy.evaluation.accepts("credit_holdout@7")
    assert policy.evaluation.accepts("credit_oot@3") and not policy.evaluation.accepts(
        "credit_oot@2"
    )
    assert not policy.evaluation.accepts(None) and not policy.evaluation.accepts("credit@1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "risk: high\nvalidation:\n  require: passed\n  min_checks: 0\n",
            "line 4: validation.min_checks: 0 is not a positive integer",
        ),
        (
            "risk: high\nvalidation: {require: passed, suites: []}\n",
            "line 2: validation.suites: expected a non-empty list of suite names",
        ),
        (
            "risk: high\nvalidation:\n  require: passed\n  suites: [{digest: abcdef12}]\n",
            "validation.suites[0]: 'name' is missing",
        ),
        (
            "risk: high\nvalidation:\n  require: passed\n  suites: [{name: s, digest: xyz}]\n",
            "validation.suites[0].digest: 'xyz' is not a hex digest",
        ),
        ("risk: high\nevaluation: {}\n", "line 2: evaluation: 'dataset' is missing"),
        (
            "risk: high\nevaluation: {dataset: 'no such@name'}\n",
            "evaluation.dataset: 'no such@name' is not NAME or NAME@VERSION",
        ),
        ("risk: high\nevaluation: {datasets: x}\n", "unknown key 'datasets'"),
    ],
)
def test_malformed_evidence_sections_are_refused_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(PolicyParseError, match=None) as info:
        parse_policy(text)
    assert message in str(info.value)
