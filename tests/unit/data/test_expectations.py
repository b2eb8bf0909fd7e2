from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from falaj.data.errors import ExpectationFileError
from falaj.data.expectations import ColumnSpec, Suite, load_suite

GOOD = """\
suite: loans
row_count: {min: 1, max: 10}
columns:
  amount: {type: float, nullable: false, min: 0}
  purpose: {type: str, in: [car, home]}
checks:
  - {name: ends_after_start, expr: "end >= start"}
freshness: {column: opened, max_age: 2d}
"""


def test_yaml_suite_is_parsed_into_expectations() -> None:
    suite = Suite.from_yaml(GOOD)
    assert suite.name == "loans"
    assert suite.columns[0] == ColumnSpec("amount", type="float", nullable=False, min=0)
    assert suite.columns[1].allowed == ("car", "home")
    assert suite.checks[0].expr == "end >= start"
    assert (suite.row_count_min, suite.row_count_max) == (1, 10)
    assert suite.freshness is not None and suite.freshness.max_age == dt.timedelta(days=2)


def test_python_and_yaml_suites_with_the_same_meaning_have_the_same_digest() -> None:
    from_dict = Suite.from_dict(
        {
            "suite": "loans",
            "row_count": {"min": 1, "max": 10},
            "columns": {
                "amount": {"type": "float", "nullable": False, "min": 0},
                "purpose": {"type": "str", "in": ["car", "home"]},
            },
            "checks": [{"name": "ends_after_start", "expr": "end >= start"}],
            "freshness": {"column": "opened", "max_age": "48h"},
        }
    )
    assert from_dict.digest == Suite.from_yaml(GOOD).digest


def test_suite_file_is_loaded_by_path(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    assert load_suite(str(path)).name == "loans"
    assert load_suite(path).name == "loans"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("suite: x\ncolumns:\n  age: {type: integer}\n", 3, "columns.age.type"),
        ("suite: x\ncolumns:\n  age:\n    type: int\n    min: young\n", 5, "columns.age.min"),
        ("suite: x\ncolumns:\n  age:\n    nullable: maybe\n", 4, "columns.age.nullable"),
        ("suite: x\ncolumns:\n  a: {}\nchecks:\n  - expr: \"__import__('os')\"\n", 5, "checks[0]"),
        ("suite: x\nrow_count: {min: 1.5}\n", 2, "row_count.min"),
        ("suite: x\nfreshness: {column: t, max_age: soon}\n", 2, "freshness.max_age"),
        ("suite: x\ncolumns:\n  a: {type: str, colour: red}\n", 3, "columns.a.colour"),
        ("suite: x\ncolumns:\n  a: {regex: '('}\n", 3, "columns.a.regex"),
        ("suite: x\ncolumns: [a, b\n", 3, "not valid YAML"),
        ("suite: x\nrow_count:\n  min: 10\n  max: 1\n", 4, "row_count.max: 1 is below min 10"),
        ("suite: x\nrow_count: {min: -1}\n", 2, "row_count.min: expected an integer >= 0"),
        ("suite: x\ncolumns:\n  a:\n    min: 5\n    max: 1.5\n", 5, "columns.a.max: 1.5 is below"),
        ("suite: x\ncolumns:\n  d: {min: 2024-02-01, max: 2024-01-01}\n", 3, "columns.d.max"),
    ],
)
def test_malformed_suite_names_the_line_and_key(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ExpectationFileError) as info:
        Suite.from_yaml(text, source="suite.yaml")
    message = str(info.value)
    assert f"suite.yaml, line {line}" in message
    assert fragment in message


def test_duplicate_keys_are_refused_with_their_line() -> None:
    with pytest.raises(ExpectationFileError, match="line 3: key 'a' appears twice"):
        Suite.from_yaml("columns:\n  a: {}\n  a: {}\n")


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExpectationFileError, match="cannot be read"):
        Suite.from_file(tmp_path / "missing.yaml")


def test_a_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("suite: café\n".encode("latin-1"))
    with pytest.raises(ExpectationFileError, match=r"latin1.yaml is not UTF-8 text \(byte 10"):
        Suite.from_file(path)


def test_unquoted_yes_no_for_a_text_column_is_refused_with_a_hint_to_quote() -> None:
    text = "columns:\n  answer:\n    type: str\n    in: [yes, no, maybe]\n"
    with pytest.raises(ExpectationFileError) as info:
        Suite.from_yaml(text, source="suite.yaml")
    message = str(info.value)
    assert message.startswith("suite.yaml, line 4: columns.answer.in:")
    assert "[True, False]" in message and "quote them" in message


def test_quoted_yes_no_for_a_text_column_is_accepted_as_text() -> None:
    suite = Suite.from_yaml("columns:\n  answer:\n    type: str\n    in: ['yes', 'no']\n")
    assert suite.columns[0].allowed == ("yes", "no")


def test_booleans_for_a_bool_column_stay_booleans() -> None:
    suite = Suite.from_yaml("columns:\n  flag:\n    type: bool\n    in: [true, false]\n")
    assert suite.columns[0].allowed == (True, False)
