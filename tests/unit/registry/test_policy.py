"""Gate policy files: every section parsed, every mistake named with its line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from falaj.registry.errors import PolicyParseError
from falaj.registry.policy import parse_policy

FULL = """\
risk: high
metrics:
  roc_auc: {min: 0.7}
  log_loss: {max: 0.6, source: run}
fairness:
  demographic_parity_difference:
    max: 0.1
    justification: "Four-fifths rule, reviewed by the risk committee"
validation: {require: passed_or_warned}
reports: [evaluation, fairness]
champion:
  alias: champion
  metrics:
    roc_auc: {max_drop: 0.005}
    log_loss: {max_increase: 0.01}
residency: {allowed_regions: [ae-dubai-1, ae-abudhabi-1]}
approvals: {count: 2, role: risk-approver}
"""


def test_full_policy_parses_every_section() -> None:
    p = parse_policy(FULL)
    assert p.risk == "high"
    assert [(m.name, m.min, m.max, m.source) for m in p.metrics] == [
        ("roc_auc", 0.7, None, "any"),
        ("log_loss", None, 0.6, "run"),
    ]
    (fair,) = p.fairness
    assert (fair.metric, fair.max, fair.line) == ("demographic_parity_difference", 0.1, 7)
    assert fair.justification == "Four-fifths rule, reviewed by the risk committee"
    assert p.validation is not None and p.validation.require == "passed_or_warned"
    assert p.reports == ("evaluation", "fairness")
    assert p.champion is not None and p.champion.alias == "champion"
    assert [(m.name, m.max_drop, m.max_increase) for m in p.champion.metrics] == [
        ("roc_auc", 0.005, None),
        ("log_loss", None, 0.01),
    ]
    assert p.residency is not None
    assert p.residency.allowed_regions == ("ae-dubai-1", "ae-abudhabi-1")
    assert p.approvals is not None and (p.approvals.count, p.approvals.role) == (
        2,
        "risk-approver",
    )
    assert p.text == FULL


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(PolicyParseError, match=r"line 3, column 15: not valid YAML: mapping"):
        parse_policy("risk: high\nmetrics:\n  roc_auc: min: 0.7\n")


def test_unclosed_bracket_names_the_line_it_was_opened_on() -> None:
    with pytest.raises(PolicyParseError, match=r"flow mapping started at line 3\)"):
        parse_policy("risk: high\nmetrics:\n  roc_auc: {min: 0.7\n")


def test_unknown_section_names_its_line_and_the_allowed_keys() -> None:
    with pytest.raises(PolicyParseError, match=r"line 2: policy: unknown key 'metric'.*metrics"):
        parse_policy("risk: low\nmetric:\n  auc: {min: 1}\n")


def test_fairness_threshold_without_justification_is_refused_naming_the_line() -> None:
    text = "risk: high\nfairness:\n  demographic_parity_ratio:\n    min: 0.8\n"
    with pytest.raises(
        PolicyParseError,
        match=r"line 4: fairness.demographic_parity_ratio: 'justification' is missing",
    ):
        parse_policy(text)


def test_non_numeric_threshold_names_the_line_and_value() -> None:
    text = "risk: high\nmetrics:\n  roc_auc:\n    min: high\n"
    with pytest.raises(
        PolicyParseError, match=r"line 4: metrics.roc_auc.min: 'high' is not a number"
    ):
        parse_policy(text)


def test_missing_risk_is_refused() -> None:
    with pytest.raises(PolicyParseError, match="'risk' is missing: expected one of low"):
        parse_policy("reports: [evaluation]\n")


def test_invalid_risk_level_names_the_choices() -> None:
    with pytest.raises(PolicyParseError, match=r"line 1: risk: 'severe' is invalid"):
        parse_policy("risk: severe\n")


def test_champion_metric_needs_exactly_one_direction() -> None:
    text = "risk: low\nchampion:\n  metrics:\n    roc_auc: {max_drop: 0.1, max_increase: 0.1}\n"
    with pytest.raises(
        PolicyParseError, match=r"line 4: champion.metrics.roc_auc: expected exactly"
    ):
        parse_policy(text)


def test_approval_count_must_be_a_positive_integer() -> None:
    with pytest.raises(PolicyParseError, match=r"line 2: approvals.count: 0 is not a positive"):
        parse_policy("risk: low\napprovals: {count: 0}\n")


def test_duplicate_key_is_refused_naming_the_second_line() -> None:
    with pytest.raises(PolicyParseError, match=r"line 4: metrics.auc: appears twice"):
        parse_policy(
            "risk: low\nmetrics:\n  auc: {min: 0.5}\n  auc: {min: 0.6}\n".replace(
                "  auc: {min: 0.5}\n  auc", "  auc: {min: 0.5}\n  auc", 1
            )
        )


def test_metric_without_threshold_is_refused() -> None:
    with pytest.raises(PolicyParseError, match=r"line 3: metrics.auc: expected a threshold"):
        parse_policy("risk: low\nmetrics:\n  auc: {source: run}\n")


@pytest.mark.parametrize(
    ("alias", "message"),
    [("bad alias", "alias 'bad alias' is invalid"), ("latest", "alias 'latest' is reserved")],
)
def test_champion_alias_must_be_a_usable_alias_name(alias: str, message: str) -> None:
    text = f"risk: low\nchampion:\n  alias: {alias}\n  metrics:\n    auc: {{max_drop: 0.1}}\n"
    with pytest.raises(PolicyParseError, match=f"line 3: champion.alias: {message}"):
        parse_policy(text)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('risk: low\nmetrics:\n  "": {min: 0.5}\n', "line 3: metrics: '' is not a metric"),
        (
            'risk: low\nfairness:\n  " ": {max: 0.1, justification: x}\n',
            "line 3: fairness: ' ' is not a metric",
        ),
        (
            'risk: low\nchampion:\n  metrics:\n    "": {max_drop: 0.1}\n',
            "line 4: champion.metrics: '' is not a metric",
        ),
    ],
)
def test_an_empty_metric_name_is_refused_naming_the_line(text: str, where: str) -> None:
    with pytest.raises(PolicyParseError, match=where):
        parse_policy(text)


def test_empty_policy_is_refused() -> None:
    with pytest.raises(PolicyParseError, match="the policy is empty"):
        parse_policy("")


@pytest.mark.parametrize(
    "text", ["risk: !!timestamp x", "risk: !!int x", "risk: high\nmetrics:\n  a: {min: !!float b}"]
)
def test_explicit_yaml_tags_that_do_not_fit_are_policy_errors(text: str) -> None:
    with pytest.raises(PolicyParseError, match=r"line \d+: .*cannot read"):
        parse_policy(text)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("risk: high\n-[]{},'\"#&*!|>%@`0.5abc\t")), max_size=80)
)
@pytest.mark.slow
def test_any_text_parses_or_fails_with_a_policy_error(text: str) -> None:
    try:
        policy = parse_policy(text)
    except PolicyParseError as exc:
        assert str(exc).startswith("policy")
    else:
        assert policy.risk in ("low", "medium", "high")
