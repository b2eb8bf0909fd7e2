"""The run-search filter language: parsing, errors that point at the mistake, round trips."""

from __future__ import annotations

import datetime as dt
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from falaj.tracking.errors import InvalidFilterError
from falaj.tracking.search import (
    And,
    Comparison,
    Expr,
    Not,
    Or,
    parse_filter,
    parse_order_by,
)


def test_issue_example_parses_to_three_comparisons() -> None:
    expr = parse_filter("metrics.auc > 0.8 and params.model = 'lgbm' and tags.team = 'risk'")
    assert expr == And(
        (
            Comparison("metric", "auc", ">", 0.8),
            Comparison("param", "model", "=", "lgbm"),
            Comparison("tag", "team", "=", "risk"),
        )
    )


def test_empty_filter_is_none() -> None:
    assert parse_filter("   ") is None


def test_and_binds_tighter_than_or() -> None:
    expr = parse_filter("metrics.a > 1 or metrics.b < 2 and params.c = 'x'")
    assert isinstance(expr, Or)
    assert expr.items[0] == Comparison("metric", "a", ">", 1.0)
    assert isinstance(expr.items[1], And)


def test_parentheses_and_not_group() -> None:
    expr = parse_filter("not (status = 'failed' or tags.x is null)")
    assert expr == Not(
        Or(
            (
                Comparison("attribute", "status", "=", "FAILED"),
                Comparison("tag", "x", "IS NULL", None),
            )
        )
    )


def test_attribute_aliases_resolve_to_one_name() -> None:
    assert parse_filter("attributes.run_name = 'a'") == Comparison("attribute", "name", "=", "a")
    assert parse_filter("run_id = 'abc'") == Comparison("attribute", "id", "=", "abc")


def test_in_list_and_not_like() -> None:
    assert parse_filter("params.model IN ('lgbm', 'xgb')") == Comparison(
        "param", "model", "IN", ("lgbm", "xgb")
    )
    assert parse_filter("tags.team NOT LIKE 'ri%'") == Comparison("tag", "team", "NOT LIKE", "ri%")


def test_backquoted_and_double_quoted_keys_allow_spaces() -> None:
    assert parse_filter("metrics.`val loss` <= 0.3") == Comparison("metric", "val loss", "<=", 0.3)
    assert parse_filter("tags.\"team name\" = 'risk'") == Comparison(
        "tag", "team name", "=", "risk"
    )


def test_doubled_quote_escapes_itself_in_strings() -> None:
    assert parse_filter("params.note = 'it''s'") == Comparison("param", "note", "=", "it's")


def test_start_time_accepts_iso_string_and_epoch_millis() -> None:
    iso = parse_filter("start_time >= '2026-01-31'")
    millis = parse_filter("start_time >= 1769817600000")
    expected = dt.datetime(2026, 1, 31, tzinfo=dt.UTC)
    assert iso == Comparison("attribute", "start_time", ">=", expected)
    assert millis == Comparison("attribute", "start_time", ">=", expected)


def test_order_by_clause() -> None:
    key = parse_order_by("metrics.auc DESC")
    assert (key.entity, key.key, key.descending) == ("metric", "auc", True)
    assert parse_order_by("start_time").descending is False


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("metrics.auc > 0.8 nd params.x = 'a'", 18, "expected AND, OR"),
        ("metrics.auc > 'high'", 14, "expected a number"),
        ("params.model > 'a'", 13, "params are text"),
        ("metrics.auc >", 13, "the end of the filter"),
        ("params.model = 'lgbm", 15, "unterminated string"),
        ("auc > 0.8", 0, "unknown field 'auc'"),
        ("foo.auc > 0.8", 0, "unknown field prefix 'foo'"),
        ("status = 'DONE'", 9, "not a run status"),
        ("metrics.auc > 0.8 and (params.a = 'x'", 37, "expected ')'"),
        ("metrics.auc ! 0.8", 12, "'!' must be followed by '='"),
        ("metrics.auc > 0.8 #", 18, "unexpected character '#'"),
        ("start_time > 'yesterday'", 13, "not a date-time"),
    ],
)
def test_malformed_filter_points_at_the_mistake(text: str, position: int, words: str) -> None:
    with pytest.raises(InvalidFilterError) as info:
        parse_filter(text)
    assert info.value.position == position
    message = str(info.value)
    assert words in message
    lines = message.splitlines()
    assert lines[1] == f"  {text}"
    assert lines[2] == " " * (position + 2) + "^"


# -- property tests ----------------------------------------------------------------------------
_keys = st.text(
    alphabet=string.ascii_letters + string.digits + "_-./: ", min_size=1, max_size=12
).filter(lambda k: k.strip() == k)
_texts = st.text(alphabet=string.printable, max_size=10)
_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


def _comparisons() -> st.SearchStrategy[Comparison]:
    metric = st.builds(
        Comparison,
        st.just("metric"),
        _keys,
        st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
        _floats,
    )
    text_ops = st.sampled_from(["=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"])
    keyed = st.builds(Comparison, st.sampled_from(["param", "tag"]), _keys, text_ops, _texts)
    listed = st.builds(
        Comparison,
        st.sampled_from(["param", "tag"]),
        _keys,
        st.sampled_from(["IN", "NOT IN"]),
        st.lists(_texts, min_size=1, max_size=3).map(tuple),
    )
    null = st.builds(
        Comparison,
        st.sampled_from(["metric", "param", "tag"]),
        _keys,
        st.sampled_from(["IS NULL", "IS NOT NULL"]),
        st.none(),
    )
    status = st.builds(
        Comparison,
        st.just("attribute"),
        st.just("status"),
        st.sampled_from(["=", "!="]),
        st.sampled_from(["RUNNING", "FINISHED", "FAILED", "KILLED"]),
    )
    return st.one_of(metric, keyed, listed, null, status)


def _exprs() -> st.SearchStrategy[Expr]:
    return st.recursive(
        _comparisons(),
        lambda children: st.one_of(
            st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
            children.map(Not),
        ),
        max_leaves=6,
    )


def _normalize(expr: Expr) -> Expr:
    """Flatten nested And/Or of the same kind (the parser builds them flat)."""
    if isinstance(expr, And | Or):
        items: list[Expr] = []
        for item in expr.items:
            norm = _normalize(item)
            if type(norm) is type(expr):
                items.extend(norm.items)  # type: ignore[union-attr]
            else:
                items.append(norm)
        return type(expr)(tuple(items))
    if isinstance(expr, Not):
        return Not(_normalize(expr.item))
    return expr


@settings(max_examples=300, deadline=None)
@given(_exprs())
@pytest.mark.slow
def test_rendered_filter_parses_back_to_the_same_tree(expr: Expr) -> None:
    assert parse_filter(expr.to_text()) == _normalize(expr)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
@pytest.mark.slow
def test_any_text_parses_or_raises_invalid_filter_with_a_valid_position(text: str) -> None:
    try:
        parse_filter(text)
    except InvalidFilterError as exc:
        assert 0 <= exc.position <= len(text)


@settings(max_examples=200, deadline=None)
@given(_exprs(), st.integers(min_value=0, max_value=10_000))
@pytest.mark.slow
def test_truncated_filter_never_crashes(expr: Expr, cut: int) -> None:
    text = expr.to_text()
    cut_text = text[: cut % (len(text) + 1)]
    try:
        parse_filter(cut_text)
    except InvalidFilterError as exc:
        assert 0 <= exc.position <= len(cut_text)


def test_nesting_deeper_than_the_limit_is_a_filter_error_not_a_crash() -> None:
    from falaj.tracking.search import MAX_NESTING

    deep = "(" * 2000 + "metrics.auc > 1" + ")" * 2000
    with pytest.raises(InvalidFilterError, match=f"nest deeper than {MAX_NESTING} levels") as info:
        parse_filter(deep)
    assert info.value.position == MAX_NESTING
    nots = "not " * (MAX_NESTING + 1) + "metrics.auc > 1"
    with pytest.raises(InvalidFilterError, match="nest deeper"):
        parse_filter(nots)


def test_nesting_at_the_limit_still_parses() -> None:
    from falaj.tracking.search import MAX_NESTING

    expr = parse_filter("(" * MAX_NESTING + "metrics.auc > 1" + ")" * MAX_NESTING)
    assert expr == Comparison("metric", "auc", ">", 1.0)


def test_epoch_milliseconds_out_of_the_date_range_are_a_filter_error() -> None:
    with pytest.raises(InvalidFilterError, match="out of the range of dates") as info:
        parse_filter("attributes.start_time > 1e30")
    assert info.value.position == 24
