"""Issue 10 items 4 and 6 on the command line: `falaj data classify` and the good rows of a
quarantine stored as a version."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import run_falaj


def test_classify_then_quarantine_keeps_pii_labels_and_stores_good_rows(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert run_falaj("init", str(home)).code == 0
    ws = ("--home", str(home))
    csv = tmp_path / "contacts.csv"
    csv.write_text("email,age\na@x.org,30\nb@x.org,-2\nc@x.org,41\n")
    assert run_falaj(*ws, "data", "register", "contacts", str(csv)).code == 0
    out = run_falaj(*ws, "data", "classify", "contacts", "email=pii", "--reason", "review")
    assert out.code == 0, out.err
    assert "email=pii" in out.out
    csv.write_text("email,age\na@x.org,30\nb@x.org,-2\nc@x.org,41\nd@x.org,22\n")
    reg = run_falaj(*ws, "data", "register", "contacts", str(csv), "--json")
    assert json.loads(reg.out)["classifications"] == {"email": ["pii"]}
    suite = tmp_path / "suite.yaml"
    suite.write_text("suite: ages\ncolumns:\n  age: {type: int, min: 0}\n")
    val = run_falaj(
        *ws, "data", "validate", "contacts@2", "-e", str(suite), "--policy", "quarantine", "--json"
    )
    assert val.code == 0, val.err
    result = json.loads(val.out)
    assert result["valid_version_id"] == "contacts__valid@1"
    for ref in (result["valid_version_id"], result["quarantine_version_id"]):
        shown = run_falaj(*ws, "data", "show", ref, "--json")
        assert json.loads(shown.out)["classifications"] == {"email": ["pii"]}, shown.out
    history = run_falaj(*ws, "data", "classify", "contacts", "--json")
    (change,) = json.loads(history.out)["history"]
    assert (change["column"], change["labels"], change["reason"]) == ("email", ["pii"], "review")
    bad = run_falaj(*ws, "data", "classify", "contacts", "phone=pii")
    assert bad.code != 0 and "'phone'" in bad.err and "Traceback" not in bad.err
