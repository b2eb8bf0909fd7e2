from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import run_falaj


def test_demo_runs_end_to_end_and_keeps_its_workspace_when_asked(tmp_path: Path) -> None:
    r = run_falaj("demo", "--workdir", str(tmp_path / "demo"))
    assert r.code == 0, r.err[-3000:]
    assert "demo finished" in r.out
    assert "Traceback" not in r.err
    # what a newcomer sees: a bit flip refused on read; a budgeted search with child runs,
    # evaluation with intervals and slices, a fairness audit under a policy with small groups
    # flagged, SHAP with a per-prediction explanation, a model card, gates and promotion
    out = " ".join(r.out.split())
    for shown in (
        "flipped one bit of a stored object: the read is refused",
        "restored the byte: store check ok=True",
        "billion-laughs YAML file: refused",
        "a spec with 'uses: os:system': refused",
        "rewriting an audit event with INSERT OR REPLACE: refused",
        "artifacts gc removed 1 orphan(s); indexed objects untouched: ok=True",
        "third run with seed=8: ingest cached, validate cached, train succeeded",
        "step fetch needed 2 attempts (a transient outage, retried)",
        "once the target existed: SUCCEEDED; reused fetch, score; ran publish",
        "scheduler-a ran 2 slot(s), scheduler-b ran 0",
        "falaj_nightly.py (each task runs `falaj step run`)",
        "nightly.kfp.yaml",
        "stopped by max_trials",
        "each trial a child run of",
        "held-out: roc_auc",
        "confusion matrix at threshold 0.5",
        "slice sex=female",
        "fairness (credit-fairness-2026): passed",
        "age_group <25:",
        "exploratory audit of sex x age_group",
        "flagged unreliable (fewer than 30 rows)",
        "SHAP (tree): top features",
        "a bad request -> 400: input column 'credit_amount'",
        "controller: promote: every step passed its checks",
        "controller: rollback: canary failed: prediction_psi",
        "rolled back automatically",
        "explain_one(applicant 0)",
        "model card with sections: model_details",
        "credit-risk-v2-fairness.html",
        "may not approve it (separation of duties)",
        "promoted v2 to champion",
        "model card refreshed after the approval",
        # issue 10: evidence that cannot mislead, enforced in the demo
        "suite 'looks-fine' (<dict>) has no checks",
        # issue 17: point-in-time features, online lookup by id with the TTL enforced
        "point-in-time training set: 1,000 rows (every applicant kept)",
        "latest values into the sqlite online store",
        "both inherit the classifications of german_credit_batch@1: sensitive",
        "not used sex (classified sensitive (not in use_sensitive))",
        "but the evidence says in-sample",
        "roc_auc FAIL: no evaluation counts",
        "given under policy revision 1, the policy is now at revision 2",
        "approved again by bob under policy revision 2",
        f"open the reports: {tmp_path / 'demo' / 'reports'}",
        # issue 14: monitoring closes the loop
        "labels attached to their request ids",
        "drifted: credit_amount;",
        "webhook answered 204",
        "it waits for evidence and approval; champion stays v2",
        # issue 18: the web UI serves the registered version's page
        "/ui/models/credit-risk/versions/1",
        "gate report included",
        # issue 15: the platform server
        "no token: GET /api/v1/models/credit-risk-api/versions -> 401",
        "risk-officer approves v1 through the API -> 201",
        "intern tries to promote -> 403",
        "mlops promotes through the gates (model.promote) -> 200",
        "intern model.promote on model_version:credit-risk-api/1 -> denied (request demo-intern)",
        # issue 16: trust and compliance, with encryption and signing on
        "audit verify: chain intact=True",
        "exits 8 naming seq",
        "its content does not match its MAC",
        ": valid (signed by trusted key ed25519:",
        "of AES-256-GCM ciphertext (plaintext visible: False)",
        "data keys re-wrapped, no data re-encrypted",
        "export german_credit@1 to us-east-1: refused",
        "0 finding(s)",
    ):
        assert shown in out, shown
    compliance = (tmp_path / "demo" / "reports" / "compliance.html").read_text()
    assert "credit-risk/2" in compliance and "<script" not in compliance
    card = (tmp_path / "demo" / "reports" / "credit-risk-v2-model_card.html").read_text()
    assert "bob (risk-approver)" in card and "none yet" not in card
    dag = (tmp_path / "demo" / "ops" / "exports" / "falaj_nightly.py").read_text()
    assert "step run" in dag and "fetch" in dag and "publish" in dag
    assert (tmp_path / "demo" / "workspace" / "falaj.toml").is_file()
    audit = run_falaj("--home", str(tmp_path / "demo" / "workspace"), "audit", "list")
    assert audit.code == 0 and "artifact.put" in audit.out


def test_demo_refuses_a_foreign_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    r = run_falaj("demo", "--workdir", str(tmp_path))
    assert r.code == 4 and "not empty" in r.err
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_demo_only_with_an_unknown_stage_names_the_stages(tmp_path: Path) -> None:
    r = run_falaj("demo", "--only", "trainig", "--workdir", str(tmp_path / "demo"))
    assert r.code == 2
    assert "Traceback" not in r.err
    assert "--only trainig: no such demo stage; expected some of foundation, data" in r.err


def test_demo_only_promotion_runs_the_training_it_needs(tmp_path: Path) -> None:
    from falaj.demo.runner import run_demo

    results = run_demo(tmp_path / "demo", only=["promotion"])
    assert results["champion_version"] == results["candidate_version"]


def test_demo_features_stage_trains_from_point_in_time_features(tmp_path: Path) -> None:
    from falaj.demo.runner import run_demo
    from falaj.workspace import Workspace

    results = run_demo(tmp_path / "demo", only=["features"], keep=True)
    assert results["feature_service"] == "credit_applicant"
    with Workspace.open(tmp_path / "demo" / "workspace") as ws:
        training = ws.datasets.load(results["feature_training_set"])
        assert len(training) == 1000  # every applicant kept, nulls where nothing was visible
        assert training["balance"].isna().any() and training["balance"].notna().any()
        [fresh] = ws.features.freshness()
        assert fresh.view == "account_activity" and fresh.rows_written > 0
