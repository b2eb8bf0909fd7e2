from __future__ import annotations

import json
from pathlib import Path

import duckdb

from tests.e2e.conftest import run_falaj


def _csv(path: Path, rows: int, shift: int = 0) -> Path:
    lines = ["id,amount,purpose"] + [
        f"{i},{100 + i * 3 + shift},{['car', 'home'][i % 2]}" for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_register_list_show_profile_diff_and_validate(tmp_path: Path) -> None:
    home = str(tmp_path / "ws")
    assert run_falaj("init", home).code == 0
    first = _csv(tmp_path / "loans.csv", 200)
    r = run_falaj(
        "--home", home, "data", "register", "loans", str(first), "--classify", "id=identifier"
    )
    assert r.code == 0, r.err
    assert "registered loans@1: 200 rows, 3 columns" in r.out
    again = run_falaj("--home", home, "data", "register", "loans", str(first), "--json")
    assert json.loads(again.out)["id"] == "loans@1"
    second = _csv(tmp_path / "loans2.csv", 260, shift=500)
    assert run_falaj("--home", home, "data", "register", "loans", str(second)).code == 0

    listed = json.loads(run_falaj("--home", home, "data", "list", "loans", "--json").out)
    assert [v["id"] for v in listed] == ["loans@1", "loans@2"]
    shown = json.loads(run_falaj("--home", home, "data", "show", "loans@1", "--json").out)
    assert shown["classifications"] == {"id": ["identifier"]}
    assert shown["source"]["kind"] == "csv" and shown["validation"] is None
    profile = json.loads(run_falaj("--home", home, "data", "profile", "loans", "--json").out)
    amount = next(c for c in profile["columns"] if c["name"] == "amount")
    assert amount["min"] == 600.0 and amount["max"] == 600.0 + 259 * 3

    diff = json.loads(run_falaj("--home", home, "data", "diff", "loans@1", "loans@2", "--json").out)
    assert diff["row_count_change"] == 60
    assert {"column": "amount", "stat": "min", "before": 100.0, "after": 600.0} in diff[
        "stat_changes"
    ]

    suite = tmp_path / "suite.yaml"
    suite.write_text("suite: loans\ncolumns:\n  amount: {type: int, min: 0, max: 1000}\n")
    ok = run_falaj("--home", home, "data", "validate", "loans@1", "-e", str(suite))
    assert ok.code == 0, ok.err
    assert "passed" in ok.out
    bad = run_falaj("--home", home, "data", "validate", "loans@2", "-e", str(suite))
    assert bad.code == 2
    assert "amount.max (amount <= 1000)" in bad.err and "Traceback" not in bad.err
    bad_json = run_falaj("--home", home, "data", "validate", "loans@2", "-e", str(suite), "--json")
    assert bad_json.code == 2
    report = json.loads(bad_json.out)  # the report still reaches a machine reader
    assert report["status"] == "failed" and report["dataset_version_id"] == "loans@2"
    assert {c["check"]: c["failed_rows"] for c in report["checks"]}["amount.max"] == 126
    warned = run_falaj(
        "--home", home, "data", "validate", "loans@2", "-e", str(suite), "--policy", "quarantine"
    )
    assert warned.code == 0, warned.err
    assert "quarantined 126 rows into loans__quarantine@1" in warned.out
    listed = json.loads(run_falaj("--home", home, "data", "list", "--json").out)
    assert {v["id"]: v["validation"] for v in listed} == {
        "loans@2": "warned",
        "loans__quarantine@1": None,
        "loans__valid@1": None,  # the good rows, stored to train on
    }

    anomalies = run_falaj("--home", home, "data", "anomalies", "loans@2", "-r", "loans@1", "--json")
    report = json.loads(anomalies.out)
    assert "amount" in {f["column"] for f in report["findings"]}


def test_malformed_expectation_file_is_one_line_naming_the_line(tmp_path: Path) -> None:
    home = str(tmp_path / "ws")
    run_falaj("init", home)
    run_falaj("--home", home, "data", "register", "loans", str(_csv(tmp_path / "l.csv", 5)))
    suite = tmp_path / "bad.yaml"
    suite.write_text("suite: loans\ncolumns:\n  amount:\n    min: lots\n    type: int\n")
    r = run_falaj("--home", home, "data", "validate", "loans", "-e", str(suite))
    assert r.code == 2
    assert f"{suite}, line 4: columns.amount.min: expected a number, got 'lots'" in r.err


def test_register_from_a_sql_query(tmp_path: Path) -> None:
    home = str(tmp_path / "ws")
    run_falaj("init", home)
    db = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT range AS n FROM range(10)")
    con.close()
    r = run_falaj(
        "--home", home, "data", "register", "nums", "--sql", "SELECT n FROM t", "--url",
        f"duckdb:///{db}",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert "registered nums@1: 10 rows, 1 columns" in r.out


def test_register_needs_exactly_one_source(tmp_path: Path) -> None:
    home = str(tmp_path / "ws")
    run_falaj("init", home)
    r = run_falaj("--home", home, "data", "register", "x")
    assert r.code == 2 and "either a SOURCE" in r.err


def test_register_with_a_column_type_for_a_missing_column_is_refused(tmp_path: Path) -> None:
    home = str(tmp_path / "ws")
    run_falaj("init", home)
    path = _csv(tmp_path / "a.csv", 5)
    r = run_falaj("--home", home, "data", "register", "x", str(path), "--column-type", "zip=string")
    assert r.code == 2
    assert "column_types names column(s) ['zip']" in r.err and "Traceback" not in r.err
    assert "is not registered" in run_falaj("--home", home, "data", "list", "x").err
    sql = run_falaj(
        "--home", home, "data", "register", "x", "--sql", "SELECT 1 AS a", "--url",
        f"duckdb:///{tmp_path / 'w.duckdb'}", "--column-type", "a=string",
    )  # fmt: skip
    assert sql.code == 2
    assert "--column-type applies to CSV sources only, not to --sql" in sql.err


def test_cli_prints_the_warnings_and_require_rows_exits_non_zero(tmp_path: Path) -> None:
    home = str(tmp_path / "ws")
    assert run_falaj("--home", home, "init").code == 0
    empty = tmp_path / "empty.csv"
    empty.write_text("id,amount\n")
    refused = run_falaj("--home", home, "data", "register", "loans", str(empty), "--require-rows")
    assert refused.code != 0
    assert "no rows" in refused.err and "Traceback" not in refused.err
    warned = run_falaj("--home", home, "data", "register", "loans", str(empty), "--json")
    assert warned.code == 0
    assert "warning:" in warned.err and "no rows" in warned.err
    assert json.loads(warned.out)["warnings"][0].startswith("dataset 'loans': the source has")
