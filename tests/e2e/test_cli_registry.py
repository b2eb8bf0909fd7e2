"""``falaj models``, ``falaj gate``, ``falaj approve`` and ``falaj promote`` as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

from falaj.governance.principal import Principal
from falaj.store.schema import utcnow
from falaj.workspace import Workspace
from tests.e2e.conftest import run_falaj
from tests.registry_support import log_model

POLICY = """\
risk: high
metrics:
  roc_auc: {min: 0.7}
approvals: {count: 1, role: risk-approver}
"""


CI = Principal("ci-pipeline", kind="service")


def _workspace_with_logged_model(tmp_path: Path) -> tuple[Path, str]:
    home = tmp_path / "ws"
    with Workspace.init(home, principal=Principal.local(), region="ae-dubai-1") as ws:
        uri = log_model(ws, metrics={"roc_auc": 0.82}).uri
    return home, uri


def _registered_by_ci(home: Path, uri: str) -> None:
    """Version 1 registered by the CI service account (the OS user authenticated it)."""
    with Workspace.open(home, principal=CI) as ws:
        ws.registry.create_version("credit-risk", uri)


def test_gate_check_exit_codes_follow_the_gates_through_approval_and_promotion(
    tmp_path: Path,
) -> None:
    home, uri = _workspace_with_logged_model(tmp_path)
    h = ("--home", str(home))
    _registered_by_ci(home, uri)
    reg = run_falaj(*h, "models", "register", "credit-risk", uri)
    assert reg.code == 0, reg.err
    assert "credit-risk version 2" in reg.out
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    assert run_falaj(*h, "gate", "policy", "set", "credit-risk", str(policy)).code == 0

    failing = run_falaj(*h, "gate", "check", "credit-risk", "1")
    assert failing.code == 8, failing.err
    assert "FAIL" in failing.out and "FAILED: 1 of 2 conditions failed" in failing.out

    refused = run_falaj(*h, "promote", "credit-risk", "1", "--reason", "too early")
    assert refused.code == 8 and "refused: 1 gate condition(s) failed (approvals" in refused.err

    own = run_falaj(*h, "approve", "credit-risk", "1", "--comment", "mine", "--as", "ci-pipeline")
    assert own.code == 8 and "separation of duties" in own.err
    # The OS user registered v2: acting as bob does not make that user someone else.
    posing = run_falaj(
        *h, "approve", "credit-risk", "2", "--comment", "fine", "--as", "bob",
        "--role", "risk-approver",
    )  # fmt: skip
    assert posing.code == 8, posing.err
    assert "by acting as bob (separation of duties)" in posing.err

    bob = run_falaj(
        *h, "approve", "credit-risk", "1", "--comment", "reviewed", "--as", "bob",
        "--role", "risk-approver",
    )  # fmt: skip
    assert bob.code == 0, bob.err
    assert "approved credit-risk v1 by bob (risk-approver)" in bob.out

    passing = run_falaj(*h, "gate", "check", "credit-risk", "1", "--json")
    assert passing.code == 0, passing.err
    report = json.loads(passing.out)
    assert report["passed"] is True
    assert [c["kind"] for c in report["conditions"]] == ["metric", "approvals"]

    promoted = run_falaj(*h, "promote", "credit-risk", "1", "--reason", "first model")
    assert promoted.code == 0, promoted.err
    assert "promoted credit-risk v1 to champion" in promoted.out

    records = json.loads(run_falaj(*h, "gate", "list-promotions", "credit-risk", "--json").out)
    assert [(r["version"], r["requester"], r["risk"]) for r in records] == [
        (1, Principal.local().name, "high")
    ]
    assert [a["approver"] for a in records[0]["approvers"]] == ["bob"]
    at = run_falaj(*h, "models", "alias", "at", "credit-risk", "champion", utcnow().isoformat())
    assert at.code == 0 and "pointed at v1" in at.out
    history = run_falaj(*h, "models", "alias", "history", "credit-risk", "champion", "--json")
    moves = json.loads(history.out)
    assert [(m["from_version"], m["to_version"]) for m in moves] == [(None, 1)]

    audit = json.loads(run_falaj(*h, "audit", "list", "--action", "model.approve", "--json").out)
    outcomes = [(e["principal"], e["outcome"]) for e in audit]
    assert outcomes == [("bob", "success"), ("bob", "failure"), ("ci-pipeline", "failure")]
    assert audit[0]["details"]["attested_by"] == Principal.local().name
    assert audit[0]["details"]["authenticated"] == Principal.local().name


def test_a_malformed_policy_file_is_refused_naming_the_line(tmp_path: Path) -> None:
    home, uri = _workspace_with_logged_model(tmp_path)
    run_falaj("--home", str(home), "models", "register", "credit-risk", uri)
    policy = tmp_path / "policy.yaml"
    policy.write_text("risk: high\nfairness:\n  demographic_parity_ratio: {min: 0.8}\n")
    r = run_falaj("--home", str(home), "gate", "policy", "set", "credit-risk", str(policy))
    assert r.code == 2
    assert "line 3: fairness.demographic_parity_ratio: 'justification' is missing" in r.err
    shown = run_falaj("--home", str(home), "gate", "policy", "show", "credit-risk")
    assert shown.code == 3 and "has no gate policy" in shown.err


def test_a_policy_file_that_is_not_utf8_is_one_line_and_sets_nothing(tmp_path: Path) -> None:
    home, uri = _workspace_with_logged_model(tmp_path)
    run_falaj("--home", str(home), "models", "register", "credit-risk", uri)
    policy = tmp_path / "policy.yaml"
    policy.write_bytes("risk: high\n# résumé\n".encode("latin-1"))
    r = run_falaj("--home", str(home), "gate", "policy", "set", "credit-risk", str(policy))
    assert r.code == 2
    assert r.err.strip() == (
        f"error: policy file {policy} is not UTF-8 text: byte 0xe9 at offset 14 cannot be "
        "decoded (save the YAML as UTF-8)"
    )
    shown = run_falaj("--home", str(home), "gate", "policy", "show", "credit-risk")
    assert shown.code == 3 and "has no gate policy" in shown.err


def test_error_lines_keep_square_brackets(tmp_path: Path) -> None:
    home, uri = _workspace_with_logged_model(tmp_path)
    run_falaj("--home", str(home), "models", "register", "credit-risk", uri)
    policy = tmp_path / "policy.yaml"
    policy.write_text("risk: high\nresidency: {allowed_regions: ae-dubai-1}\n", encoding="utf-8")
    r = run_falaj("--home", str(home), "gate", "policy", "set", "credit-risk", str(policy))
    assert r.code == 2
    assert "residency.allowed_regions: expected a list, e.g. [a, b]" in r.err


def test_free_text_in_tables_is_printed_as_typed_not_read_as_markup(tmp_path: Path) -> None:
    home, uri = _workspace_with_logged_model(tmp_path)
    h = ("--home", str(home))
    _registered_by_ci(home, uri)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    assert run_falaj(*h, "gate", "policy", "set", "credit-risk", str(policy)).code == 0
    approve = ("approve", "credit-risk", "1", "--as", "bob", "--role", "risk-approver")
    r = run_falaj(*h, *approve, "--comment", "[auto] checks and [b]ias report")
    assert r.code == 0, r.err
    approvals = run_falaj(*h, "gate", "list-approvals", "credit-risk", "1")
    assert "[auto] checks and [b]ias report" in approvals.out
    moved = run_falaj(
        *h,
        "models",
        "alias",
        "set",
        "credit-risk",
        "challenger",
        "1",
        "--reason",
        "[ops] retrained",
    )
    assert moved.code == 0, moved.err
    history = run_falaj(*h, "models", "alias", "history", "credit-risk")
    assert "[ops] retrained" in history.out


def test_a_version_number_too_large_for_the_db_is_one_line(tmp_path: Path) -> None:
    home, uri = _workspace_with_logged_model(tmp_path)
    run_falaj("--home", str(home), "models", "register", "credit-risk", uri)
    for command in (("models", "show"), ("gate", "check")):
        r = run_falaj("--home", str(home), *command, "credit-risk", "99999999999999999999")
        assert r.code == 2, r.err
        assert r.err.strip() == (
            "error: version '99999999999999999999' is invalid: expected a positive integer up "
            "to 2147483647"
        )


def test_models_list_show_and_versions(tmp_path: Path) -> None:
    home, uri = _workspace_with_logged_model(tmp_path)
    h = ("--home", str(home))
    for _ in range(2):
        run_falaj(*h, "models", "register", "credit-risk", uri)
    alias = run_falaj(
        *h, "models", "alias", "set", "credit-risk", "challenger", "2", "--reason", "try"
    )
    assert alias.code == 0, alias.err
    listed = json.loads(run_falaj(*h, "models", "list", "--json").out)
    assert [(m["name"], m["latest_version"], m["aliases"]) for m in listed] == [
        ("credit-risk", 2, {"challenger": 2})
    ]
    shown = json.loads(run_falaj(*h, "models", "show", "credit-risk", "challenger", "--json").out)
    assert (shown["version"], shown["source"], shown["status"]) == (2, uri, "READY")
    versions = json.loads(run_falaj(*h, "models", "list-versions", "credit-risk", "--json").out)
    assert [v["version"] for v in versions] == [2, 1]
    missing = run_falaj(*h, "models", "show", "nope")
    assert missing.code == 3 and "'nope' does not exist" in missing.err
    archived = run_falaj(*h, "models", "archive", "credit-risk", "1", "--reason", "superseded")
    assert archived.code == 0 and "is now ARCHIVED" in archived.out
    restored = run_falaj(*h, "models", "restore", "credit-risk", "1", "--reason", "needed")
    assert restored.code == 0 and "is now READY" in restored.out
    again = run_falaj(*h, "models", "show", "credit-risk", "1", "--json")
    assert json.loads(again.out)["status"] == "READY"
    deleted = run_falaj(*h, "models", "delete", "credit-risk", "1", "--reason", "withdrawn")
    assert deleted.code == 0 and "is now DELETED" in deleted.out


def test_demo_registry_and_promotion_stages_run_on_their_own(tmp_path: Path) -> None:
    r = run_falaj(
        "demo", "--workdir", str(tmp_path / "demo"),
        "--only", "registry", "--only", "promotion",
    )  # fmt: skip
    assert r.code == 0, r.err[-3000:]
    assert "registered credit-risk v1" in r.out
    assert "alias challenger -> v1" in r.out
    assert "separation of duties" in r.out and "approved by bob (risk-approver)" in r.out
    # promotion needs training, which --only now adds: its search registers v2, the candidate
    assert "registered credit-risk v2 from the search's refit model" in r.out
    assert "gates of credit-risk v2: FAILED" in r.out and "gates of credit-risk v2: PASSED" in r.out
    assert "promoted v2 to champion" in r.out and "and now? v2" in r.out
