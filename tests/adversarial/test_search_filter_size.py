"""Run-search filters are bounded: size and term caps with clear errors, long IN lists bound
as one parameter (PostgreSQL array, SQLite JSON) so 70,000 values work on both backends."""

from __future__ import annotations

import pytest

from falaj.tracking.errors import InvalidFilterError
from falaj.tracking.search import MAX_FILTER_LENGTH, MAX_TERMS
from falaj.workspace import Workspace


def _runs(ws: Workspace) -> dict[str, str]:
    ids = {}
    for name, team, auc in (("a", "risk", 0.9), ("b", "ops", 0.8), ("c", "risk", 0.7)):
        with ws.start_run("credit", run_name=name, tags={"team": team}) as run:
            run.log_metric("auc", auc)
            run.log_param("model", f"m-{name}")
        ids[name] = run.id
    return ids


def _names(ws: Workspace, text: str) -> list[str]:
    page = ws.tracking.search_runs(text, order_by=["attributes.name"], max_results=100)
    return [r.name for r in page.runs]


def test_1200_or_terms_are_refused_with_a_short_clear_error(any_ws: Workspace) -> None:
    text = " OR ".join(f"metrics.auc = {i}" for i in range(1200))
    with pytest.raises(InvalidFilterError) as info:
        any_ws.tracking.search_runs(text)
    message = str(info.value)
    assert f"more than {MAX_TERMS} comparisons" in message
    assert len(message) < 500  # the filter is not echoed in full
    assert "SELECT" not in message


def test_the_largest_allowed_filter_runs_on_both_backends(any_ws: Workspace) -> None:
    _runs(any_ws)
    text = " OR ".join(f"metrics.auc = {i / 100}" for i in range(MAX_TERMS - 1))
    text += " OR params.model = 'm-b'"
    assert _names(any_ws, text) == ["a", "b", "c"]  # 0.7, 0.8 and 0.9 are among the values


def test_an_oversized_filter_is_refused_before_parsing(any_ws: Workspace) -> None:
    text = "tags.team = '" + "x" * MAX_FILTER_LENGTH + "'"
    with pytest.raises(InvalidFilterError) as info:
        any_ws.tracking.search_runs(text)
    assert f"at most {MAX_FILTER_LENGTH:,} are allowed" in str(info.value)
    assert len(str(info.value)) < 500


def test_in_list_of_70000_values_on_both_backends(any_ws: Workspace) -> None:
    ids = _runs(any_ws)
    decoys = [f"{n:032x}" for n in range(70_000)]
    wanted = [ids["a"], ids["c"]]
    values = ", ".join(f"'{v}'" for v in decoys[:35_000] + wanted + decoys[35_000:])
    assert _names(any_ws, f"attributes.run_id IN ({values})") == ["a", "c"]
    assert _names(any_ws, f"attributes.run_id NOT IN ({values})") == ["b"]
    teams = ", ".join(f"'team-{n}'" for n in range(70_000)) + ", 'ops'"
    assert _names(any_ws, f"tags.team IN ({teams})") == ["b"]
    assert _names(any_ws, f"tags.team NOT IN ({teams}) AND metrics.auc > 0.75") == ["a"]


def test_error_positions_stay_readable_in_a_long_filter() -> None:
    from falaj.tracking.search import parse_filter

    text = "tags.team IN (" + ", ".join(f"'t{n}'" for n in range(5000)) + ", 42)"
    with pytest.raises(InvalidFilterError) as info:
        parse_filter(text)
    lines = str(info.value).splitlines()
    assert len(lines) == 3 and all(len(line) < 200 for line in lines)
    shown, caret = lines[1], lines[2]
    assert shown[caret.index("^")] == "4"  # the caret still points at the offending value
