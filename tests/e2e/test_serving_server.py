"""The model server as users run it: ``falaj serve`` in its own process on a free loopback port,
spoken to over HTTP. Deployments are changed through ``ws.serving`` while it serves."""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from falaj.governance.principal import Principal
from falaj.serving.controller import RolloutController
from falaj.serving.rollout import RolloutPolicy
from falaj.workspace import Workspace
from tests.serving_support import MODEL, frame, register, server_process, v2_body, wait_for

pytestmark = pytest.mark.slow


@dataclass
class Seed:
    home: Path
    good: int
    same: int
    bad: int


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seed]:
    home = tmp_path_factory.mktemp("serving") / "ws"
    with Workspace.init(home, principal=Principal("alice")) as ws:
        good = register(ws)
        same = register(ws)
        bad = register(ws, broken=True)
        ws.registry.set_alias(MODEL, "champion", good, reason="serving tests")
    yield Seed(home, good, same, bad)


@pytest.fixture
def ws(seed: Seed) -> Iterator[Workspace]:  # type: ignore[override]
    with Workspace.open(seed.home, principal=Principal("alice")) as workspace:
        yield workspace


def _revision(response: httpx.Response) -> str:
    return str(response.json()["parameters"]["revision"])


def test_v2_protocol_health_metadata_and_infer(ws: Workspace, seed: Seed) -> None:
    ws.serving.create_deployment("v2", f"{MODEL}@champion")
    x, _ = frame(3)
    with server_process(seed.home, "--deployment", "v2") as url, httpx.Client(base_url=url) as c:
        assert c.get("/v2/health/live").json() == {"live": True}
        meta = c.get("/v2/models/v2").json()
        assert meta["name"] == MODEL and meta["versions"] == [str(seed.good)]
        assert [i["name"] for i in meta["inputs"]] == ["income", "debt"]
        r = c.post("/v2/models/v2/infer", json=v2_body(x, "req-1"))
        assert r.status_code == 200
        body = r.json()
        assert body["id"] == "req-1"
        assert body["model_name"] == MODEL and body["model_version"] == str(seed.good)
        outputs = {o["name"]: o for o in body["outputs"]}
        assert outputs["predict"]["shape"] == [3] and len(outputs["predict"]["data"]) == 3
        assert outputs["predict_proba"]["shape"] == [3, 2]
        probs = outputs["predict_proba"]["data"]
        for i in range(3):
            assert math.isclose(probs[2 * i] + probs[2 * i + 1], 1.0, rel_tol=1e-9)
        expected = ws.registry.load_model(MODEL, seed.good).predict(x).tolist()
        assert outputs["predict"]["data"] == expected
        r = c.post("/predict", json=x.to_dict("records"), headers={"x-request-id": "abc"})
        assert r.json()["id"] == "abc" and r.json()["predictions"] == expected
        assert c.post("/v2/models/other/infer", json=v2_body(x)).status_code == 404
        assert c.post("/explain", json=x.to_dict("records")).status_code == 501
        fed = c.post("/v2/models/v2/feedback", json={"id": "req-1", "label": [1, 0, 1]})
        assert fed.status_code == 200 and fed.json()["attached"] == 1  # joined to req-1's log
        metrics = c.get("/metrics").text
        assert 'falaj_requests_total{deployment="v2"' in metrics
        assert "falaj_request_latency_seconds_bucket" in metrics


def test_bad_input_gets_a_4xx_naming_the_problem_and_the_server_keeps_serving(
    ws: Workspace, seed: Seed
) -> None:
    ws.serving.create_deployment("bad-input", f"{MODEL}/{seed.good}")
    x, _ = frame(2)
    good = v2_body(x)
    cases = [
        ({"inputs": [good["inputs"][0]]}, 400, "'debt' is missing"),
        (
            {"inputs": [{**good["inputs"][0], "data": ["a", "b"], "datatype": "BYTES"}, good["inputs"][1]]},
            400,
            "datatype BYTES",
        ),
        (
            {"inputs": [{**good["inputs"][0], "data": [1.0, None]}, good["inputs"][1]]},
            400,
            "missing value",
        ),
        ({"inputs": [{**good["inputs"][0], "shape": [5]}, good["inputs"][1]]}, 400, "shape [5]"),
        ({"inputs": []}, 400, "'inputs' is missing"),
        ({"inputs": [{"name": "income", "data": [1.0]}, {"name": "debt", "data": [1.0, 2.0]}]}, 400, "different lengths"),
    ]  # fmt: skip
    with (
        server_process(seed.home, "--deployment", "bad-input", "--max-body-mb", "0.01") as url,
        httpx.Client(base_url=url) as c,
    ):
        for body, status, words in cases:
            r = c.post("/v2/models/bad-input/infer", json=body)
            assert r.status_code == status, (body, r.text)
            assert words in r.json()["error"] and r.json()["id"]
        r = c.post("/v2/models/bad-input/infer", content=b"{not json")
        assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
        r = c.post("/predict", json=[{"income": "lots", "debt": 1.0}])
        assert r.status_code == 400 and "'income' has value 'lots'" in r.json()["error"]
        big = v2_body(frame(2000)[0])
        r = c.post("/v2/models/bad-input/infer", json=big)
        assert r.status_code == 413 and "limit" in r.json()["error"]
        assert c.post("/v2/models/bad-input/infer", json=good).status_code == 200


def test_weighted_split_is_within_a_binomial_bound(ws: Workspace, seed: Seed) -> None:
    dep = ws.serving.create_deployment("split", f"{MODEL}/{seed.good}")
    canary = ws.serving.add_revision("split", f"{MODEL}/{seed.same}", weight=20)
    ws.serving.set_traffic("split", {dep.revisions[0].id: 80})
    x, _ = frame(1)
    n = 2000
    with server_process(seed.home, "--deployment", "split") as url, httpx.Client(base_url=url) as c:
        seen = Counter(
            _revision(c.post("/v2/models/split/infer", json=v2_body(x))) for _ in range(n)
        )
    assert set(seen) == {dep.revisions[0].id, canary.id}
    sigma = math.sqrt(n * 0.2 * 0.8)
    assert abs(seen[canary.id] - n * 0.2) < 5 * sigma, seen


def test_sticky_routing_key_sends_a_user_to_the_same_revision(ws: Workspace, seed: Seed) -> None:
    ws.serving.create_deployment("sticky", f"{MODEL}/{seed.good}", routing_key="header:x-user")
    dep = ws.serving.get_deployment("sticky")
    other = ws.serving.add_revision("sticky", f"{MODEL}/{seed.same}", weight=100)
    ws.serving.set_traffic("sticky", {dep.revisions[0].id: 100})
    x, _ = frame(1)
    with (
        server_process(seed.home, "--deployment", "sticky") as url,
        httpx.Client(base_url=url) as c,
    ):
        first: dict[str, str] = {}
        for round_ in range(3):
            for user in range(40):
                rev = _revision(
                    c.post(
                        "/v2/models/sticky/infer", json=v2_body(x), headers={"x-user": f"u{user}"}
                    )
                )
                if round_ == 0:
                    first[f"u{user}"] = rev
                else:
                    assert first[f"u{user}"] == rev
    assert set(first.values()) == {dep.revisions[0].id, other.id}  # both halves are used


def test_shadow_answers_are_compared_and_recorded_never_returned(ws: Workspace, seed: Seed) -> None:
    dep = ws.serving.create_deployment("shadow", f"{MODEL}/{seed.good}")
    shadow = ws.serving.add_revision("shadow", f"{MODEL}/{seed.bad}", shadow_fraction=1.0)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    x, _ = frame(10, seed=3)
    with (
        server_process(seed.home, "--deployment", "shadow") as url,
        httpx.Client(base_url=url) as c,
    ):
        for i in range(20):
            r = c.post("/v2/models/shadow/infer", json=v2_body(x.iloc[[i % 10]]))
            assert _revision(r) == dep.revisions[0].id

        def compared() -> int:
            return ws.serving.summaries("shadow", [shadow.id], start)[shadow.id].compared

        wait_for(lambda: compared() >= 20, what="shadow comparisons in the store")
    summary = ws.serving.summaries("shadow", [shadow.id], start)[shadow.id]
    assert summary.requests == 20 and summary.compared == 20
    ours = ws.registry.load_model(MODEL, seed.good).predict(x)
    theirs = ws.registry.load_model(MODEL, seed.bad).predict(x)
    expected = 2 * int((ours != theirs).sum())
    assert expected > 0 and summary.disagreed == expected


def test_hot_swap_under_load_fails_no_request(ws: Workspace, seed: Seed) -> None:
    dep = ws.serving.create_deployment("swap", f"{MODEL}/{seed.good}")
    old = dep.revisions[0].id
    x, _ = frame(1)
    failures: list[str] = []
    seen: Counter[str] = Counter()
    stop = threading.Event()
    with server_process(seed.home, "--deployment", "swap") as url:

        def client() -> None:
            with httpx.Client(base_url=url, timeout=30) as c:
                while not stop.is_set():
                    try:
                        r = c.post("/v2/models/swap/infer", json=v2_body(x))
                    except httpx.HTTPError as exc:
                        failures.append(repr(exc))
                        continue
                    if r.status_code != 200:
                        failures.append(r.text)
                    else:
                        seen[_revision(r)] += 1

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        wait_for(lambda: seen[old] >= 50, what="traffic on the old revision")
        new = ws.serving.add_revision("swap", f"{MODEL}/{seed.same}", weight=100)
        ws.serving.retire_revision("swap", old)
        wait_for(lambda: seen[new.id] >= 50, what="traffic on the new revision")
        before = seen[old]
        wait_for(lambda: seen[new.id] >= 100, what="more traffic on the new revision")
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    assert seen[old] == before  # once swapped, the retired revision answers nothing


def _drive(url: str, deployment: str, n: int) -> None:
    x, _ = frame(50, seed=7)
    with httpx.Client(base_url=url) as c:
        for i in range(n):
            assert (
                c.post(f"/v2/models/{deployment}/infer", json=v2_body(x.iloc[[i % 50]])).status_code
                == 200
            )


def test_bad_canary_is_rolled_back_automatically_with_its_evidence(
    ws: Workspace, seed: Seed
) -> None:
    dep = ws.serving.create_deployment("canary-bad", f"{MODEL}/{seed.good}")
    # judged on its answers, not on latency (a busy CI machine makes p99 a matter of chance)
    policy = RolloutPolicy(
        window_s=0, min_requests=30, max_psi=0.2, max_p99_ratio=1e9, p99_slack_ms=1e9
    )
    ro = ws.serving.start_rollout(
        "canary-bad", f"{MODEL}/{seed.bad}", steps="50,100", policy=policy
    )
    controller = RolloutController(ws.serving)
    with server_process(seed.home, "--deployment", "canary-bad") as url:

        def judged() -> bool:
            _drive(url, "canary-bad", 40)
            decision = controller.tick("canary-bad")
            return decision is None or decision.action != "wait"

        wait_for(judged, timeout=120, what="a decision")
        after = ws.serving.get_rollout("canary-bad")
        assert after.state == "rolled_back"
        last = after.decisions[-1]
        assert last.decision == "rollback" and "prediction_psi" in last.reason
        checks = {c["name"]: c for c in last.evidence["checks"]}
        assert not checks["prediction_psi"]["passed"]
        assert last.evidence["evidence"]["canary"]["requests"] >= 30
        # the replica swaps back: every answer comes from the stable revision again
        x, _ = frame(1)
        with httpx.Client(base_url=url) as c:
            wait_for(
                lambda: all(
                    _revision(c.post("/v2/models/canary-bad/infer", json=v2_body(x)))
                    == dep.revisions[0].id
                    for _ in range(20)
                ),
                what="the rollback to reach the replica",
            )
    events = ws.audit.list(action="deployment.rollout")
    assert any(e.details.get("decision") == "rollback" for e in events)
    assert ro.canary_revision not in {
        r.id for r in ws.serving.get_deployment("canary-bad").revisions
    }


def test_good_canary_is_promoted_automatically_step_by_step(ws: Workspace, seed: Seed) -> None:
    dep = ws.serving.create_deployment("canary-good", f"{MODEL}/{seed.good}")
    # Latency is not judged here: on a shared, busy CI machine the canary's p99 can exceed the
    # stable's by chance (it did: a good canary was rolled back). The latency check has its own
    # unit tests over recorded aggregates (tests/unit/serving/test_rollout.py).
    policy = RolloutPolicy(window_s=0, min_requests=30, max_p99_ratio=1e9, p99_slack_ms=1e9)
    ro = ws.serving.start_rollout(
        "canary-good", f"{MODEL}/{seed.same}", steps="25,50,100", policy=policy
    )
    controller = RolloutController(ws.serving)
    actions: list[str] = []
    with server_process(seed.home, "--deployment", "canary-good") as url:

        def step() -> bool:
            _drive(url, "canary-good", 40)
            decision = controller.tick("canary-good")
            if decision is not None and decision.action != "wait":
                actions.append(decision.action)
            return decision is None or decision.action == "promote"

        wait_for(step, timeout=120, what="promotion")
    assert actions == ["advance", "advance", "promote"]
    final = ws.serving.get_deployment("canary-good")
    assert [r.id for r in final.revisions] == [ro.canary_revision]
    assert final.revisions[0].weight == 100
    assert dep.revisions[0].id != ro.canary_revision


def test_several_workers_share_one_metrics_view_and_report_aggregates(
    ws: Workspace, seed: Seed
) -> None:
    dep = ws.serving.create_deployment("workers", f"{MODEL}/{seed.good}")
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    x, _ = frame(1)
    with server_process(seed.home, "--deployment", "workers", workers=2) as url:
        for _ in range(30):
            with httpx.Client(base_url=url) as c:  # new connections: spread over the workers
                assert c.post("/v2/models/workers/infer", json=v2_body(x)).status_code == 200

        def counted() -> float:
            text = httpx.get(f"{url}/metrics").text
            return sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith('falaj_requests_total{deployment="workers"')
            )

        wait_for(lambda: counted() == 30, what="30 requests in the multiprocess metrics")
        rev = dep.revisions[0].id
        wait_for(
            lambda: ws.serving.summaries("workers", [rev], start)[rev].requests == 30,
            what="both workers' aggregates in the store",
        )
