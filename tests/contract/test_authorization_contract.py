"""Every public API, reading or writing, goes through the one authorization seam.

For each API: under a policy that denies everything it raises PermissionDeniedError, changes no
row and no stored byte, and appends exactly one ``denied`` audit event naming its action; under a
policy that grants exactly the API's action (nothing else) it succeeds. Run on SQLite and
PostgreSQL against one seeded workspace per backend (each case touches resources of its own, so
the cases are independent).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from falaj.errors import PermissionDeniedError
from falaj.governance import Action, Binding, Principal, RoleBindingAuthorizer
from falaj.lineage.graph import Node
from falaj.tracking.errors import RunNotActiveError
from falaj.tracking.imports import RunImport
from falaj.workspace import Workspace
from tests.registry_support import log_model, training_frame

MODEL = "credit"
SUITE = {"suite": "basic", "columns": {"income": {"type": "float", "nullable": False}}}


@dataclass
class Seed:
    home: Path
    db_url: str
    digest: str
    run_id: str
    open_run_id: str
    logged_uri: str
    experiment: str
    token_id: str = ""
    shred_digest: str = ""
    revisions: dict[str, str] = field(default_factory=dict)  # serving: deployment -> revision


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seed]:
    home = tmp_path_factory.mktemp(f"authz-{request.param}")
    schema = None
    engine = None
    if request.param == "sqlite":
        db_url = f"sqlite:///{home / 'meta.db'}"
    else:
        from tests.conftest import _pg_base_url

        base = _pg_base_url()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        engine = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        db_url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    admin = Principal("admin", roles=frozenset({"admin"}))
    ws = Workspace.init(
        home / "ws", principal=admin, db_url=db_url, region="ae-dubai-1", encryption=True
    )
    frame, target = training_frame()
    ws.datasets.register("credit", frame.assign(target=target))
    ws.datasets.register("credit", frame.assign(target=target).head(6))
    digest = ws.artifacts.put_bytes(b"seed bytes").digest
    logged = log_model(ws, metrics={"roc_auc": 0.9})
    for _ in range(6):
        ws.registry.create_version(MODEL, logged)
    ws.registry.archive(MODEL, 3)  # restored by the 'restore' case
    ws.registry.set_version_tag(MODEL, 1, "keep", "x")
    ws.registry.set_alias(MODEL, "staging", 1, reason="seed")
    ws.registry.set_alias(MODEL, "old", 1, reason="seed")  # deleted by its case
    ws.registry.set_policy(MODEL, "risk: low\nmetrics:\n  roc_auc: {min: 0.5, source: run}\n")
    ws.pipelines.schedules.create("nightly", f"{STEPS}:linear", "0 2 * * *")
    ws.pipelines.schedules.create("paused", f"{STEPS}:linear", "0 3 * * *", enabled=False)
    _seed_features(ws)
    # serving: one deployment per case that changes one
    revisions: dict[str, str] = {}
    for dep in ("served", "retiring", "running", "paused", "promoting", "rolling-back", "canary"):
        revisions[dep] = ws.serving.create_deployment(dep, f"{MODEL}/1").revisions[0].id
    revisions["retiring"] = ws.serving.add_revision("retiring", f"{MODEL}/2", weight=10).id
    for dep in ("running", "paused", "promoting", "rolling-back"):
        ws.serving.start_rollout(dep, f"{MODEL}/2")
    ws.serving.pause("paused")
    open_run = ws.start_run("credit")
    open_run.log_metric("loss", 1.0)
    ws.tracking.flush()
    ws.identity.create_user("seed-user", role="viewer")
    token, _ = ws.identity.create_token("seed-user")
    shred_digest = ws.artifacts.put_bytes(b"to be erased").digest  # the key.shred case's
    with ws.store.transaction() as conn:  # version 5 as if registered before signing was on
        conn.execute(sa.text("DELETE FROM model_signatures WHERE version = 5"))
    # monitoring: one logged prediction and a monitor
    log = ws.monitoring.prediction_log()
    log.log(
        request_id="seed-request", model=MODEL, version=1, deployment=None, revision=None,
        inputs=frame.head(1), outputs={"predict": [0]}, latency_ms=1.0,
        at=dt.datetime.now(dt.UTC), shadow=False,
    )  # fmt: skip
    log.flush()
    ws.monitoring.monitors.create(
        "seed-monitor", MODEL, "1", spec={"checks": {"drift": {}}, "reference": "credit@1"}
    )
    yield Seed(
        home / "ws",
        db_url,
        digest,
        logged.run_id,
        open_run.id,
        f"runs:/{logged.run_id}/model",
        "credit",
        token.id,
        shred_digest,
        revisions,
    )
    with contextlib.suppress(RunNotActiveError):  # the end_run case ended it from outside
        open_run.end()
    ws.close()
    if engine is not None:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


Call = Callable[[Workspace, Seed], Any]

_FEATURE_T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _seed_features(ws: Workspace) -> None:
    from falaj.features import Entity, FeatureView

    events = pd.DataFrame(
        {"customer_id": [1, 2], "event_ts": [_FEATURE_T0] * 2, "balance": [1.0, 2.0]}
    )
    ws.datasets.register("cust_events", events)
    ws.features.apply(
        [
            Entity("customer", join_keys=["customer_id"]),
            FeatureView(
                "cust_stats",
                entities=["customer"],
                source="cust_events",
                timestamp="event_ts",
                features={"balance": "float64"},
            ),
        ]
    )


def _feature_entity() -> Any:
    from falaj.features import Entity

    return Entity(f"e_{uuid.uuid4().hex[:8]}", join_keys=["id"])


def _feature_entities() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [1, 3], "event_timestamp": [_FEATURE_T0] * 2})


def _aggregates(w: Workspace, s: Seed) -> Any:
    from falaj.serving.stats import RevisionStats

    stats = RevisionStats()
    stats.observe(1.0, error=False, keys=["p:0.1"])
    now = dt.datetime.now(dt.UTC)
    return w.serving.record_aggregates("served", "r", now, now, {s.revisions["served"]: stats})


def _frame() -> pd.DataFrame:
    frame, target = training_frame()
    return frame.assign(target=target)


def _import(ws: Workspace, s: Seed) -> Any:
    now = dt.datetime.now(dt.UTC)
    return ws.tracking.import_run(RunImport("credit", "imported", "FINISHED", now, now))


#: (API, the action it needs, the call[, actions granted in both phases: its prerequisites])
RAW: list[tuple[Any, ...]] = [
    ("artifacts.put_bytes", (Action.ARTIFACT_PUT,), lambda w, s: w.artifacts.put_bytes(b"new")),
    ("artifacts.info", (Action.ARTIFACT_READ,), lambda w, s: w.artifacts.info(s.digest)),
    ("artifacts.get_bytes", (Action.ARTIFACT_READ,), lambda w, s: w.artifacts.get_bytes(s.digest)),
    ("artifacts.list", (Action.ARTIFACT_READ,), lambda w, s: w.artifacts.list()),
    ("artifacts.verify", (Action.ARTIFACT_VERIFY,), lambda w, s: w.artifacts.verify(s.digest)),
    ("artifacts.orphans", (Action.ARTIFACT_VERIFY,), lambda w, s: w.artifacts.orphans()),
    ("artifacts.gc", (Action.ARTIFACT_GC,), lambda w, s: w.artifacts.gc(min_age_s=3600)),
    (
        "lineage.record",
        (Action.LINEAGE_RECORD,),
        lambda w, s: w.lineage.record(Node("run", s.run_id), Node("deployment", "d1"), "served"),
    ),
    (
        "lineage.upstream",
        (Action.LINEAGE_READ,),
        lambda w, s: w.lineage.upstream(f"run:{s.run_id}"),
    ),
    (
        "lineage.downstream",
        (Action.LINEAGE_READ,),
        lambda w, s: w.lineage.downstream(f"run:{s.run_id}"),
    ),
    # identity
    (
        "identity.create_user",
        (Action.USER_CREATE,),
        lambda w, s: w.identity.create_user("new-user", role="viewer"),
    ),
    ("identity.get_user", (Action.USER_READ,), lambda w, s: w.identity.get_user("seed-user")),
    ("identity.list_users", (Action.USER_READ,), lambda w, s: w.identity.list_users()),
    ("identity.bindings", (Action.USER_READ,), lambda w, s: w.identity.bindings()),
    (
        "identity.set_active",
        (Action.USER_UPDATE,),
        lambda w, s: w.identity.set_active("seed-user", True),
    ),
    (
        "identity.bind",
        (Action.USER_UPDATE,),
        lambda w, s: w.identity.bind("seed-user", "auditor"),
    ),
    (
        "identity.unbind",
        (Action.USER_UPDATE,),
        lambda w, s: w.identity.unbind("seed-user", "viewer"),
    ),
    (
        "identity.create_token",
        (Action.TOKEN_CREATE,),
        lambda w, s: w.identity.create_token("seed-user"),
    ),
    ("identity.list_tokens", (Action.TOKEN_READ,), lambda w, s: w.identity.list_tokens()),
    (
        "identity.revoke_token",
        (Action.TOKEN_REVOKE,),
        lambda w, s: w.identity.revoke_token(s.token_id),
    ),
    ("audit.list", (Action.AUDIT_READ,), lambda w, s: w.audit.list()),
    ("audit.count", (Action.AUDIT_READ,), lambda w, s: w.audit.count()),
    # -- trust (issue 16) --
    ("audit.verify", (Action.AUDIT_VERIFY,), lambda w, s: w.audit.verify()),
    ("audit.export", (Action.AUDIT_EXPORT,), lambda w, s: w.audit.export(io.StringIO())),
    ("audit.checkpoint", (Action.AUDIT_CHECKPOINT,), lambda w, s: w.audit.checkpoint()),
    ("keys.list", (Action.KEY_READ,), lambda w, s: w.keys.list()),
    ("keys.rotate", (Action.KEY_ROTATE,), lambda w, s: w.keys.rotate()),
    ("keys.shred", (Action.KEY_SHRED,), lambda w, s: w.keys.shred(s.shred_digest)),
    (
        "registry.verify_signature",
        (Action.MODEL_VERIFY,),
        lambda w, s: w.registry.verify_signature(MODEL, 2),
    ),
    ("registry.sign_version", (Action.MODEL_SIGN,), lambda w, s: w.registry.sign_version(MODEL, 5)),
    ("compliance.report", (Action.COMPLIANCE_REPORT,), lambda w, s: w.compliance_report()),
    (
        "datasets.export",
        (Action.DATASET_EXPORT,),
        lambda w, s: w.datasets.export(
            "credit", s.home / "exports" / f"{uuid.uuid4().hex}.parquet", region="ae-dubai-1"
        ),
    ),
    # -- end trust --
    (
        "tracking.create_experiment",
        (Action.EXPERIMENT_CREATE,),
        lambda w, s: w.tracking.create_experiment("new-exp"),
    ),
    (
        "tracking.get_experiment",
        (Action.EXPERIMENT_READ,),
        lambda w, s: w.tracking.get_experiment("credit"),
    ),
    (
        "tracking.list_experiments",
        (Action.EXPERIMENT_READ,),
        lambda w, s: w.tracking.list_experiments(),
    ),
    (
        "tracking.start_run",
        (Action.RUN_CREATE, Action.RUN_LOG),
        lambda w, s: w.start_run("credit").end(),
    ),
    ("tracking.get_run", (Action.RUN_READ,), lambda w, s: w.tracking.get_run(s.run_id)),
    ("tracking.search_runs", (Action.RUN_READ,), lambda w, s: w.tracking.search_runs("")),
    (
        "tracking.metric_history",
        (Action.RUN_READ,),
        lambda w, s: w.tracking.metric_history(s.run_id, "roc_auc"),
    ),
    (
        "tracking.get_logged_model",
        (Action.RUN_READ,),
        lambda w, s: w.tracking.get_logged_model(s.logged_uri),
    ),
    ("tracking.load_model", (Action.MODEL_LOAD,), lambda w, s: w.tracking.load_model(s.logged_uri)),
    ("tracking.end_run", (Action.RUN_END,), lambda w, s: w.tracking.end_run(s.open_run_id)),
    ("tracking.import_run", (Action.RUN_IMPORT,), _import),
    (
        "registry.create_version",
        (Action.MODEL_VERSION_CREATE,),
        lambda w, s: w.registry.create_version(MODEL, s.logged_uri),
    ),
    ("registry.get_version", (Action.MODEL_READ,), lambda w, s: w.registry.get_version(MODEL, 1)),
    ("registry.get_model", (Action.MODEL_READ,), lambda w, s: w.registry.get_model(MODEL)),
    ("registry.list_models", (Action.MODEL_READ,), lambda w, s: w.registry.list_models()),
    ("registry.list_versions", (Action.MODEL_READ,), lambda w, s: w.registry.list_versions(MODEL)),
    ("registry.aliases", (Action.MODEL_READ,), lambda w, s: w.registry.aliases(MODEL)),
    ("registry.alias_history", (Action.MODEL_READ,), lambda w, s: w.registry.alias_history(MODEL)),
    (
        "registry.alias_at",
        (Action.MODEL_READ,),
        lambda w, s: w.registry.alias_at(MODEL, "staging", dt.datetime.now(dt.UTC)),
    ),
    ("registry.load_model", (Action.MODEL_LOAD,), lambda w, s: w.registry.load_model(MODEL, 1)),
    (
        "registry.set_model_description",
        (Action.MODEL_UPDATE,),
        lambda w, s: w.registry.set_model_description(MODEL, "credit model"),
    ),
    (
        "registry.set_version_description",
        (Action.MODEL_VERSION_UPDATE,),
        lambda w, s: w.registry.set_version_description(MODEL, 1, "v1"),
    ),
    (
        "registry.set_version_tag",
        (Action.MODEL_VERSION_TAG_SET,),
        lambda w, s: w.registry.set_version_tag(MODEL, 1, "team", "risk"),
    ),
    (
        "registry.delete_version_tag",
        (Action.MODEL_VERSION_TAG_DELETE,),
        lambda w, s: w.registry.delete_version_tag(MODEL, 1, "keep"),
    ),
    (
        "registry.archive",
        (Action.MODEL_VERSION_ARCHIVE,),
        lambda w, s: w.registry.archive(MODEL, 2),
    ),
    (
        "registry.restore",
        (Action.MODEL_VERSION_RESTORE,),
        lambda w, s: w.registry.restore(MODEL, 3),
    ),
    (
        "registry.delete_version",
        (Action.MODEL_VERSION_DELETE,),
        lambda w, s: w.registry.delete_version(MODEL, 4),
    ),
    (
        "registry.set_alias",
        (Action.MODEL_ALIAS_SET,),
        lambda w, s: w.registry.set_alias(MODEL, "qa", 1, reason="test"),
    ),
    (
        "registry.delete_alias",
        (Action.MODEL_ALIAS_DELETE,),
        lambda w, s: w.registry.delete_alias(MODEL, "old", reason="test"),
    ),
    (
        "registry.attach_evidence",
        (Action.MODEL_EVIDENCE_ATTACH,),
        lambda w, s: w.registry.attach_evidence(
            MODEL, 1, "evaluation", summary={"metrics": {"roc_auc": 0.9}}
        ),
    ),
    ("registry.evidence", (Action.MODEL_READ,), lambda w, s: w.registry.evidence(MODEL, 1)),
    (
        "registry.set_policy",
        (Action.MODEL_POLICY_SET,),
        lambda w, s: w.registry.set_policy(
            MODEL, "risk: low\nmetrics:\n  roc_auc: {min: 0.5, source: run}\n"
        ),
    ),
    ("registry.policy", (Action.MODEL_READ,), lambda w, s: w.registry.policy(MODEL)),
    ("registry.check_gates", (Action.MODEL_READ,), lambda w, s: w.registry.check_gates(MODEL, 1)),
    (
        "registry.approve",
        (Action.MODEL_APPROVE,),
        lambda w, s: w.registry.approve(MODEL, 5, comment="reviewed"),
    ),
    ("registry.approvals", (Action.MODEL_READ,), lambda w, s: w.registry.approvals(MODEL, 1)),
    (
        "registry.promote",
        (Action.MODEL_PROMOTE,),
        lambda w, s: w.registry.promote(MODEL, 6, alias="champion", reason="gates pass"),
    ),
    ("registry.promotions", (Action.MODEL_READ,), lambda w, s: w.registry.promotions(MODEL)),
    (
        "datasets.register",
        (Action.DATASET_REGISTER,),
        lambda w, s: w.datasets.register("fresh", _frame()),
    ),
    ("datasets.get", (Action.DATASET_READ,), lambda w, s: w.datasets.get("credit@1")),
    (
        "datasets.classify",
        (Action.DATASET_CLASSIFY,),
        lambda w, s: w.datasets.classify("credit", {"income": ["sensitive"]}, reason="test"),
    ),
    (
        "datasets.classification_history",
        (Action.DATASET_READ,),
        lambda w, s: w.datasets.classification_history("credit"),
    ),
    ("datasets.versions", (Action.DATASET_READ,), lambda w, s: w.datasets.versions("credit")),
    ("datasets.latest_versions", (Action.DATASET_READ,), lambda w, s: w.datasets.latest_versions()),
    ("datasets.load", (Action.DATASET_READ,), lambda w, s: w.datasets.load("credit@1")),
    ("datasets.profile", (Action.DATASET_READ,), lambda w, s: w.datasets.profile("credit@1")),
    ("datasets.diff", (Action.DATASET_READ,), lambda w, s: w.datasets.diff("credit@1", "credit@2")),
    (
        "datasets.validate",
        (Action.DATASET_VALIDATE,),
        lambda w, s: w.datasets.validate("credit@1", SUITE, policy="warn"),
    ),
    (
        "datasets.validation_status",
        (Action.DATASET_READ,),
        lambda w, s: w.datasets.validation_status("credit@1"),
    ),
    (
        "datasets.validations",
        (Action.DATASET_READ,),
        lambda w, s: w.datasets.validations("credit@1"),
    ),
    (
        "datasets.detect_anomalies",
        (Action.DATASET_READ,),
        lambda w, s: w.datasets.detect_anomalies(_frame(), "credit@1"),
    ),
    ("pipelines.list_runs", (Action.PIPELINE_READ,), lambda w, s: w.pipelines.list_runs()),
    ("schedules.list", (Action.SCHEDULE_READ,), lambda w, s: w.pipelines.schedules.list()),
    (
        "schedules.create",
        (Action.SCHEDULE_CREATE, Action.SCHEDULE_READ),
        lambda w, s: w.pipelines.schedules.create("hourly", f"{STEPS}:linear", "0 * * * *"),
    ),
    (
        "schedules.set_enabled(False)",
        (Action.SCHEDULE_DISABLE, Action.SCHEDULE_READ),
        lambda w, s: w.pipelines.schedules.set_enabled("nightly", False),
    ),
    (
        "schedules.set_enabled(True)",
        (Action.SCHEDULE_ENABLE, Action.SCHEDULE_READ),
        lambda w, s: w.pipelines.schedules.set_enabled("paused", True),
    ),
    (
        "pipelines.run",
        (
            Action.PIPELINE_RUN_START,
            Action.PIPELINE_STEP_START,
            Action.PIPELINE_STEP_LOGS,
            Action.PIPELINE_STEP_RECORD,
            Action.PIPELINE_RUN_FINISH,
            Action.PIPELINE_READ,
            Action.ARTIFACT_PUT,
        ),
        lambda w, s: w.pipelines.run(f"{STEPS}:linear", params={"rows": 2}, use_cache=False),
    ),
    (
        "run.log_artifact",
        (
            Action.RUN_LOG_ARTIFACT,
            Action.RUN_CREATE,
            Action.RUN_LOG,
            Action.RUN_END,
            Action.ARTIFACT_PUT,
        ),
        lambda w, s: _open_run(w).log_bytes(b"x", "notes.txt", "text/plain"),
    ),
    (
        "run.log_model",
        (
            Action.RUN_LOG_MODEL,
            Action.RUN_CREATE,
            Action.RUN_LOG,
            Action.RUN_END,
            Action.ARTIFACT_PUT,
        ),
        lambda w, s: _open_run(w).log_model(_model(), input_example=_xy()[0]),
    ),
    (
        "run.log_dataset",
        (Action.RUN_LOG_DATASET, Action.RUN_CREATE, Action.RUN_LOG, Action.RUN_END),
        lambda w, s: _open_run(w).log_dataset("credit@1"),
    ),
    (
        "training.search",
        (
            Action.TRAINING_SEARCH,
            Action.RUN_CREATE,
            Action.RUN_LOG,
            Action.RUN_END,
            Action.RUN_LOG_MODEL,
            Action.ARTIFACT_PUT,
            Action.EXPERIMENT_CREATE,
        ),
        lambda w, s: w.training.search(_SPEC, *_xy(), experiment="authz-hpo"),
    ),
    (
        "training.audit_fairness",
        (Action.TRAINING_FAIRNESS,),
        lambda w, s: w.training.audit_fairness(
            MODEL, 1, *_xy(), sensitive_features={"group": ["a", "b"] * 4}, min_group_size=1
        ),
    ),
    (
        "training.explain",
        (Action.TRAINING_EXPLANATION,),
        lambda w, s: w.training.explain(MODEL, 1, _xy()[0], sample_budget=20),
    ),
    (
        "training.evaluate",
        (Action.TRAINING_EVALUATION,),
        lambda w, s: w.training.evaluate(MODEL, 1, *_xy(), n_bootstrap=10),
    ),
    # features
    (
        "features.apply",
        (Action.FEATURE_APPLY,),
        lambda w, s: w.features.apply([_feature_entity()]),
    ),
    ("features.list", (Action.FEATURE_READ,), lambda w, s: w.features.list()),
    ("features.history", (Action.FEATURE_READ,), lambda w, s: w.features.history("cust_stats")),
    ("features.freshness", (Action.FEATURE_READ,), lambda w, s: w.features.freshness()),
    (
        "features.get_historical",
        (Action.FEATURE_READ, Action.DATASET_READ),
        lambda w, s: w.features.get_historical(_feature_entities(), ["cust_stats:balance"]),
    ),
    (
        "features.materialize",
        (Action.FEATURE_MATERIALIZE, Action.DATASET_READ),
        lambda w, s: w.features.materialize(end=_FEATURE_T0),
    ),
    (
        "features.get_online",
        (Action.FEATURE_ONLINE_READ,),
        lambda w, s: w.features.get_online({"customer_id": [1]}, ["cust_stats:balance"]),
    ),
    (
        "features.lookup",
        (Action.FEATURE_ONLINE_READ,),
        lambda w, s: w.features.lookup(["cust_stats:balance"]),
    ),
    (
        "training.model_card",
        (Action.TRAINING_MODEL_CARD,),
        lambda w, s: w.training.model_card(MODEL, 1),
    ),
    # monitoring
    (
        "monitoring.prediction_log",
        (Action.MONITORING_LOG,),
        lambda w, s: w.monitoring.prediction_log(),
    ),
    (
        "monitoring.feedback",
        (Action.MONITORING_FEEDBACK,),
        lambda w, s: w.monitoring.feedback([("seed-request", 1)]),
    ),
    (
        "monitoring.drift",
        (Action.MONITORING_EVALUATE,),
        lambda w, s: w.monitoring.drift(MODEL, 1, reference="credit@1"),
    ),
    (
        "monitoring.performance",
        (Action.MONITORING_EVALUATE,),
        lambda w, s: w.monitoring.performance(MODEL, 1),
    ),
    (
        "monitoring.retention",
        (Action.MONITORING_RETENTION,),
        lambda w, s: w.monitoring.retention(3650),
    ),
    ("monitoring.results", (Action.MONITORING_READ,), lambda w, s: w.monitoring.results(MODEL)),
    ("monitoring.collector", (Action.MONITORING_READ,), lambda w, s: w.monitoring.collector(MODEL)),
    ("monitors.list", (Action.MONITORING_READ,), lambda w, s: w.monitoring.monitors.list()),
    ("monitors.alerts", (Action.MONITORING_READ,), lambda w, s: w.monitoring.monitors.alerts()),
    (
        "monitors.create",
        (Action.MONITOR_CREATE,),
        lambda w, s: w.monitoring.monitors.create(
            "authz-monitor", MODEL, "1", spec={"checks": {"drift": {}}}
        ),
    ),
    ("monitors.run", (Action.MONITOR_RUN,), lambda w, s: w.monitoring.monitors.run("seed-monitor")),
    # serving
    (
        "serving.create_deployment",
        (Action.DEPLOYMENT_CREATE,),
        lambda w, s: w.serving.create_deployment("created", f"{MODEL}/1"),
    ),
    (
        "serving.get_deployment",
        (Action.DEPLOYMENT_READ,),
        lambda w, s: w.serving.get_deployment("served"),
    ),
    ("serving.generation", (Action.DEPLOYMENT_READ,), lambda w, s: w.serving.generation("served")),
    (
        "serving.list_deployments",
        (Action.DEPLOYMENT_READ,),
        lambda w, s: w.serving.list_deployments(),
    ),
    (
        "serving.add_revision",
        (Action.DEPLOYMENT_UPDATE,),
        lambda w, s: w.serving.add_revision("served", f"{MODEL}/6", shadow_fraction=0.1),
    ),
    (
        "serving.set_traffic",
        (Action.DEPLOYMENT_UPDATE,),
        lambda w, s: w.serving.set_traffic("served", {s.revisions["served"]: 90}),
    ),
    (
        "serving.retire_revision",
        (Action.DEPLOYMENT_UPDATE,),
        lambda w, s: w.serving.retire_revision("retiring", s.revisions["retiring"]),
    ),
    (
        "serving.start_rollout",
        (Action.DEPLOYMENT_ROLLOUT,),
        lambda w, s: w.serving.start_rollout("canary", f"{MODEL}/6"),  # 2 gets archived
    ),
    (
        "serving.get_rollout",
        (Action.DEPLOYMENT_READ,),
        lambda w, s: w.serving.get_rollout("running"),
    ),
    ("serving.pause", (Action.DEPLOYMENT_ROLLOUT,), lambda w, s: w.serving.pause("running")),
    ("serving.resume", (Action.DEPLOYMENT_ROLLOUT,), lambda w, s: w.serving.resume("paused")),
    ("serving.promote", (Action.DEPLOYMENT_ROLLOUT,), lambda w, s: w.serving.promote("promoting")),
    (
        "serving.rollback",
        (Action.DEPLOYMENT_ROLLOUT,),
        lambda w, s: w.serving.rollback("rolling-back"),
    ),
    ("serving.record_aggregates", (Action.DEPLOYMENT_REPORT,), _aggregates),
    (
        "serving.summaries",
        (Action.DEPLOYMENT_READ,),
        lambda w, s: w.serving.summaries(
            "served", [s.revisions["served"]], dt.datetime.now(dt.UTC)
        ),
    ),
    # end serving
]


@dataclass(frozen=True)
class Case:
    api: str
    action: Action
    setup: tuple[Action, ...]
    call: Call


CASES = [Case(r[0], r[1][0], tuple(r[1][1:]), r[2]) for r in RAW]
STEPS = "tests.unit.pipelines.sample_steps"
_SPEC = {
    "family": "sklearn.logistic_regression",
    "refit": False,
    "space": {"C": {"type": "log", "low": 0.1, "high": 1.0}},
    "budget": {"max_trials": 1},
    "cv_folds": 2,
}


def _xy() -> tuple[pd.DataFrame, list[int]]:
    return training_frame()


def _model() -> Any:
    from tests.registry_support import fitted_model

    return fitted_model()


def _open_run(ws: Workspace) -> Any:
    """The run a run case logs to: started by mallory before the state is snapshot."""
    run: Any = getattr(ws, "_authz_run", None)
    if run is None:
        raise AssertionError("the case's run was not prepared")
    return run


def _prepare(ws: Workspace, case: Case) -> None:
    if case.api.startswith("run."):
        ws._authz_run = ws.start_run("credit")  # type: ignore[attr-defined]
        ws.tracking.flush()


MALLORY = Principal("mallory")


def _open(seed: Seed, authorizer: RoleBindingAuthorizer) -> Workspace:
    return Workspace.open(seed.home, principal=MALLORY, authorizer=authorizer)


def _state(ws: Workspace) -> tuple[dict[str, int], int]:
    """Row counts of every table but the audit ledger, and the stored objects."""
    with ws.store.read() as conn:
        names = [
            n
            for n in sa.inspect(conn).get_table_names()
            if n not in ("audit_events", "alembic_version")
            and not n.startswith(("studies", "trial"))
        ]
        counts = {
            n: int(conn.execute(sa.text(f'SELECT count(*) FROM "{n}"')).scalar_one()) for n in names
        }
    objects = sum(1 for p in (ws.home / "artifacts").rglob("*") if p.is_file())
    return counts, objects


def _events(ws: Workspace) -> list[tuple[str, str, str]]:
    with ws.store.read() as conn:
        rows = conn.execute(
            sa.text("SELECT principal, action, outcome FROM audit_events ORDER BY seq")
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _authorizer(actions: tuple[Action, ...]) -> RoleBindingAuthorizer:
    return RoleBindingAuthorizer(
        [Binding("mallory", "exact")], roles={"exact": [a.value for a in actions]}
    )


@pytest.mark.parametrize("case", CASES, ids=[c.api for c in CASES])
def test_api_is_denied_without_its_action_and_allowed_with_exactly_it(
    seed: Seed, case: Case
) -> None:
    # Deny: everything but the action (its prerequisites only; for most APIs: nothing at all).
    with _open(seed, _authorizer(case.setup)) as ws:
        _prepare(ws, case)
        before_state = _state(ws)
        before_events = _events(ws)
        with pytest.raises(PermissionDeniedError, match=f"mallory may not {case.action.value}"):
            case.call(ws, seed)
        ws.tracking.flush()
        assert _state(ws) == before_state, f"{case.api}: a refused call changed something"
        new_events = _events(ws)[len(before_events) :]
        assert new_events == [("mallory", case.action.value, "denied")], new_events

    # Allow: exactly the action (and the same prerequisites).
    with _open(seed, _authorizer((case.action, *case.setup))) as ws:
        _prepare(ws, case)
        case.call(ws, seed)
        ws.tracking.flush()
        after = _events(ws)[len(before_events) + 1 :]
        assert not [e for e in after if e[2] == "denied"], after


def test_every_action_is_exercised_by_some_case() -> None:
    """A new action without a case here is an unchecked door."""
    covered = {c.action for c in CASES}
    recorded_by_machinery = {
        Action.WORKSPACE_INIT,  # once, by whoever creates the workspace
        Action.PIPELINE_STEP_RECORD,  # inside pipelines.run (granted as its prerequisite)
        Action.PIPELINE_STEP_START,
        Action.PIPELINE_STEP_LOGS,
        Action.PIPELINE_RUN_FINISH,
        Action.PIPELINE_RUN_RESUME,  # pipelines.resume: covered by the pipelines suite
        Action.SCHEDULE_CLAIM,  # inside schedules.tick
        Action.SCHEDULE_RUN,
        Action.RUN_CREATE,  # with run.log, the prerequisites of every run case
        Action.RUN_LOG,
    }
    assert set(Action) - covered - recorded_by_machinery == set()
