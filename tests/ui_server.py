"""A UI server process for the browser tests: a real workspace with real data, served by uvicorn.

``python -m tests.ui_server HOME`` seeds the workspace in HOME (first time only), binds a free
loopback port, prints ``PORT <n>`` on stdout, then serves until killed.

Identities: a :class:`~falaj.ui.TokenTable` (the token→principal table a server's token store
would hold), judged by the workspace's :class:`RoleBindingAuthorizer` with real bindings:

- ``alice``: data scientist, created everything (may not approve her own version)
- ``bob``: approver of ``credit`` (holds the policy's ``approver`` role)
- ``vera``: viewer; ``ada``: auditor (reads the audit ledger)

Serving is not merged yet, so the deployments page reads a :class:`RecordedDeployments`: a
deployment's recorded revisions, traffic, drift and alerts held as data, through the same
``DeploymentsSource`` Protocol the real serving adapter implements.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from falaj.errors import NotFoundError
from falaj.governance.authorization import Binding, RoleBindingAuthorizer
from falaj.governance.principal import Principal
from falaj.ui.deployments import DeploymentSnapshot
from falaj.workspace import Workspace

TOKENS = {
    "alice": "tok-alice-0123456789",
    "bob": "tok-bob-0123456789",
    "vera": "tok-vera-0123456789",
    "ada": "tok-ada-0123456789",
}
PRINCIPALS = {
    "alice": Principal("alice", roles=frozenset({"data-scientist"})),
    "bob": Principal("bob", roles=frozenset({"approver"})),
    "vera": Principal("vera", roles=frozenset({"viewer"})),
    "ada": Principal("ada", roles=frozenset({"auditor"})),
}
BINDINGS = [
    Binding("alice", "data-scientist"),
    Binding("bob", "viewer"),
    Binding("bob", "approver", "model:credit"),
    Binding("vera", "viewer"),
    Binding("ada", "auditor"),
]
MODEL = "credit"
DATASET = "applicants"
POLICY = """\
risk: medium
metrics:
  roc_auc: {min: 0.6}
approvals: {count: 1, role: approver}
"""
T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


def _frame(shift: float) -> object:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    n = 120
    income = rng.normal(50 + shift, 12, n).round(1)
    debt = rng.normal(20, 6, n).round(1)
    return pd.DataFrame(
        {
            "income": income,
            "debt": debt,
            "age": rng.integers(18, 80, n),
            "region": rng.choice(["north", "south", "east"], n),
            "label": (income - debt > 30).astype(int),
        }
    )


def seed(home: Path) -> None:
    """Datasets, a sweep of runs with metric histories, a registered version with a policy and
    a model card, as alice (the workspace's default principal while seeding)."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    alice = PRINCIPALS["alice"]
    with Workspace.init(home, principal=alice, region="ae-dubai-1") as ws:
        v1 = ws.datasets.register(DATASET, _frame(0.0), description="loan applicants")
        ws.datasets.register(DATASET, _frame(8.0), description="loan applicants, next month")
        ws.datasets.validate(
            v1.id,
            {
                "suite": "applicants",
                "columns": {
                    "income": {"nullable": False},
                    "age": {"min": 18, "max": 100},
                    "region": {"in": ["north", "south", "east"]},
                },
            },
            policy="warn",
        )
        frame = ws.datasets.load(v1.id)
        features = frame[["income", "debt", "age"]].astype("float64")
        logged = None
        for i, c in enumerate((0.1, 1.0, 10.0)):
            with ws.start_run("credit-sweep", run_name=f"logreg-C{c}") as run:
                run.log_params({"model": "logistic_regression", "C": c, "max_iter": 100 * (i + 1)})
                for step in range(10):
                    run.log_metric("loss", 0.7 / (1 + step * (0.2 + 0.1 * i)), step=step)
                    run.log_metric("roc_auc", 0.6 + 0.03 * step * (i + 1) / 3, step=step)
                run.log_dataset(v1.id)
                model = LogisticRegression(C=c).fit(features, frame["label"])
                if i == 2:
                    logged = run.log_model(model, "model", input_example=features.head(5))
        assert logged is not None
        mv = ws.registry.create_version(MODEL, logged, description="applicant default risk")
        ws.registry.set_policy(MODEL, POLICY)
        card = ws.artifacts.put_bytes(
            b"<!doctype html><html><head><title>Model card</title></head><body>"
            b"<h1>Model card: credit v1</h1><p>Logistic regression on loan applicants.</p>"
            b"</body></html>",
            media_type="text/html",
        )
        ws.registry.attach_evidence(
            MODEL,
            mv.version,
            "model_card",
            summary={"intended_use": "pre-screening", "owner": "retail-risk"},
            artifact_digest=card.digest,
        )
        ws.registry.set_alias(MODEL, "challenger", mv.version, reason="first candidate")
        del pd


class RecordedDeployments:
    """Recorded deployment data served through the ``DeploymentsSource`` Protocol."""

    def __init__(self) -> None:
        from falaj.ui.deployments import (
            Alert,
            DriftPoint,
            Revision,
            RolloutDecision,
            TrafficPoint,
        )

        minute = dt.timedelta(minutes=1)
        hour = dt.timedelta(hours=1)
        self._snap = DeploymentSnapshot(
            name="credit-api",
            rollout_state="canary 20%",
            revisions=[
                Revision("1", MODEL, 1, 0.8, "stable", T0),
                Revision("2", MODEL, 1, 0.2, "canary", T0 + hour),
            ],
            decisions=[
                RolloutDecision(T0 + hour, "2", "start canary", "new revision deployed at 10%"),
                RolloutDecision(T0 + 2 * hour, "2", "step up", "error rate 0.2% under 1%"),
            ],
            traffic=[
                TrafficPoint(T0 + i * minute, 100 + 3 * i, i % 4, 12.0 + i % 5, 30.0 + i % 7)
                for i in range(30)
            ],
            drift=[
                DriftPoint(T0 + i * hour, feature, score, 0.2)
                for i in range(12)
                for feature, score in (("income", 0.02 * i), ("debt", 0.05 + 0.001 * i))
            ],
            alerts=[Alert(T0 + 10 * hour, "warning", "income drift 0.20 reached its threshold")],
        )

    def names(self) -> list[str]:
        return [self._snap.name]

    def snapshot(self, name: str) -> DeploymentSnapshot:
        if name != self._snap.name:
            raise NotFoundError(f"deployment {name!r} does not exist")
        return self._snap


def main(argv: list[str]) -> None:
    import uvicorn

    from falaj.ui import TokenTable
    from falaj.ui.serve import bind, build_asgi

    home = Path(argv[0])
    if not (home / "falaj.toml").exists():
        seed(home)
    ws = Workspace.open(home, authorizer=RoleBindingAuthorizer(BINDINGS))
    table = TokenTable({TOKENS[k]: p for k, p in PRINCIPALS.items()})
    app = build_asgi(ws, table, deployments=RecordedDeployments())
    sock = bind("127.0.0.1", 0)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1:])
