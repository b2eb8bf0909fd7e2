"""The RBAC matrix: every endpoint x every role (plus no token and a bad token) against the
table below, on a real server process. Zero unexpected allows: a principal the table does not
allow gets 403 (and a ``denied`` audit event carrying the request's id), or 401 without a valid
credential; a principal it allows gets past authorization (2xx, or the listed state-dependent
answers such as 409 when a promotion's gates refuse).

The table is kept here, by hand, on purpose: a change to a role's actions must change this file.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from falaj.governance.principal import Principal
from falaj.workspace import Workspace
from tests.e2e.server_support import Served, start_server
from tests.registry_support import fitted_model, training_frame

pytestmark = pytest.mark.slow

ROLES = ["viewer", "data-scientist", "ml-engineer", "approver", "auditor", "admin"]
EVERYONE = frozenset(ROLES)
READERS = EVERYONE
TRACKERS = frozenset({"data-scientist", "ml-engineer", "admin"})
PROMOTERS = frozenset({"ml-engineer", "admin"})
APPROVERS = frozenset({"approver", "admin"})
AUDITORS = frozenset({"auditor", "admin"})
ADMINS = frozenset({"admin"})


@dataclass
class World:
    run_id: str
    digest: str
    model_uri: str
    open_runs: dict[str, str]
    packed_model: bytes


@dataclass(frozen=True)
class Case:
    method: str
    path: Callable[[World, str], str]
    allowed: frozenset[str]
    body: Callable[[World, str], dict[str, Any]] | None = None
    content: bytes | None = None
    tolerated: frozenset[int] = frozenset()  # allowed, yet refused by state (not by RBAC)

    @property
    def name(self) -> str:
        return f"{self.method} {self.path(_EXAMPLE, '<role>')}"


def P(text: str) -> Callable[[World, str], str]:
    return lambda w, role: text.format(w=w, role=role, open=w.open_runs.get(role, "none"))


_EXAMPLE = World("RUN", "DIGEST", "runs:/RUN/model", {}, b"")
_CSV = b"a,b\n1,2\n3,4\n"

CASES = [
    Case("GET", P("/whoami"), EVERYONE),
    # tracking
    Case("GET", P("/experiments"), READERS),
    Case("GET", P("/experiments/seed-exp"), READERS),
    Case("POST", P("/experiments"), TRACKERS, body=lambda w, r: {"name": f"exp-{r}"}),
    Case("GET", P("/runs"), READERS),
    Case("GET", P("/runs/{w.run_id}"), READERS),
    Case("GET", P("/runs/{w.run_id}/metrics/auc"), READERS),
    Case("GET", P("/runs/{w.run_id}/artifacts/notes.txt"), READERS),
    Case("POST", P("/runs"), TRACKERS, body=lambda w, r: {"experiment": "seed-exp"}),
    Case(
        "POST",
        P("/runs/{open}/log"),
        TRACKERS,
        body=lambda w, r: {"metrics": [{"key": "loss", "value": 0.5, "step": 1}]},
    ),
    Case("PUT", P("/runs/{open}/artifacts/out/report.txt"), TRACKERS, content=b"report"),
    Case("PUT", P("/runs/{open}/models/m"), TRACKERS, content=b"<packed model>"),
    Case(
        "POST",
        P("/runs/{open}/datasets"),
        TRACKERS,
        body=lambda w, r: {"dataset_version": "loans@1"},
    ),
    Case("POST", P("/runs/{open}/end"), TRACKERS, body=lambda w, r: {"status": "FINISHED"}),
    # artifacts
    Case("PUT", P("/artifacts"), TRACKERS, content=b"some bytes"),
    Case("GET", P("/artifacts/{w.digest}"), READERS),
    Case("GET", P("/artifacts/{w.digest}/info"), READERS),
    # registry
    Case("GET", P("/models"), READERS),
    Case("GET", P("/models/credit"), READERS),
    Case("GET", P("/models/credit/versions"), READERS),
    Case("GET", P("/models/credit/versions/1"), READERS),
    Case("GET", P("/models/credit/versions/1/gates"), READERS),
    Case("GET", P("/models/credit/versions/1/approvals"), READERS),
    Case("GET", P("/models/credit/versions/1/evidence"), READERS),
    Case("GET", P("/models/credit/aliases"), READERS),
    Case("GET", P("/models/credit/promotions"), READERS),
    Case("GET", P("/models/credit/versions/1/model"), TRACKERS),
    Case(
        "POST",
        P("/models/credit/versions"),
        TRACKERS,
        body=lambda w, r: {"model_uri": w.model_uri},
    ),
    Case(
        "POST",
        P("/models/credit/versions/1/approvals"),
        APPROVERS,
        body=lambda w, r: {"comment": f"reviewed by {r}"},
        tolerated=frozenset({409}),  # the policy names the approver role; admin is not one
    ),
    Case(
        "PUT",
        P("/models/credit/aliases/prod-{role}"),
        PROMOTERS,
        body=lambda w, r: {"version": 1, "reason": "matrix"},
        tolerated=frozenset({409}),  # the gates may refuse; the permission was granted
    ),
    # datasets
    Case("GET", P("/datasets"), READERS),
    Case("GET", P("/datasets/loans"), READERS),
    Case("GET", P("/datasets/loans/versions/1"), READERS),
    Case("GET", P("/datasets/loans/versions/1/data"), READERS),
    Case("GET", P("/datasets/loans/versions/1/validation"), READERS),
    Case("POST", P("/datasets/upload-{role}"), TRACKERS, content=_CSV),
    # pipelines
    Case("GET", P("/pipelines"), READERS),
    Case("GET", P("/pipelines/runs/no-such-run"), READERS, tolerated=frozenset({404})),
    # deployments and monitoring
    Case("GET", P("/deployments"), READERS),
    Case("GET", P("/deployments/seed-dep"), READERS),
    Case(
        "POST",
        P("/deployments"),
        PROMOTERS,
        body=lambda w, r: {"name": f"dep-{r}", "model": "credit/1"},
    ),
    Case("GET", P("/deployments/seed-dep/rollout"), READERS, tolerated=frozenset({404})),
    Case(
        "POST",
        P("/deployments/seed-dep/rollout/pause"),
        PROMOTERS,
        body=lambda w, r: {"reason": "matrix"},
        tolerated=frozenset({404, 409}),  # no rollout running: refused by state, not by RBAC
    ),
    Case("GET", P("/models/credit/monitoring/results"), READERS),
    Case(
        "POST",
        P("/models/credit/monitoring/drift?ref=1"),
        TRACKERS,
        tolerated=frozenset({400, 404, 409}),  # nothing logged yet
    ),
    Case(
        "POST",
        P("/models/credit/monitoring/performance?ref=1"),
        TRACKERS,
        tolerated=frozenset({400, 404, 409}),
    ),
    Case("GET", P("/monitoring/alerts"), READERS),
    # audit
    Case("GET", P("/audit"), AUDITORS),
    # identity
    Case("GET", P("/users"), ADMINS),
    Case("POST", P("/users"), ADMINS, body=lambda w, r: {"name": f"new-{r}", "role": "viewer"}),
    Case("GET", P("/users/matrix-target"), ADMINS),
    Case("POST", P("/users/matrix-target/deactivate"), ADMINS),
    Case("POST", P("/users/matrix-target/activate"), ADMINS),
    Case("POST", P("/users/matrix-target/roles"), ADMINS, body=lambda w, r: {"role": "viewer"}),
    Case("GET", P("/tokens"), ADMINS),
    Case("POST", P("/tokens"), ADMINS, body=lambda w, r: {"user": "user-viewer"}),
    Case("DELETE", P("/tokens/000000000000"), ADMINS, tolerated=frozenset({404})),
]


def _seed(ws: Workspace) -> None:
    import pandas as pd

    frame, _ = training_frame()
    with ws.acting_as(Principal("seeder")):
        ws.datasets.register("loans", pd.DataFrame({"income": [1.0, 2.0], "debt": [0.5, 0.1]}))
        with ws.start_run("seed-exp") as run:
            run.log_metric("auc", 0.8)
            run.log_bytes(b"notes", "notes.txt", "text/plain")
            logged = run.log_model(fitted_model(), "model", input_example=frame)
        ws.registry.create_version("credit", logged)
        ws.registry.set_policy("credit", "risk: low\napprovals: {count: 1, role: approver}\n")
        ws.serving.create_deployment("seed-dep", "credit/1")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, World]]:
    from falaj.tracking.models import pack_model

    served = start_server(
        tmp_path_factory.mktemp("rbac") / "ws", "--auth-burst", "1000", seed=_seed
    )
    try:
        for role in ROLES:
            served.user(f"user-{role}", role)
        served.user("matrix-target", None)  # the user the identity endpoints act on
        with served.admin() as admin:
            run = admin.get("/runs", params={"experiment": "seed-exp"}).json()["runs"][0]
            digest = admin.get(f"/runs/{run['id']}").json()["artifacts"][0]["digest"]
            open_runs = {
                role: admin.post("/runs", json={"experiment": "seed-exp"}).json()["id"]
                for role in ROLES
            }
        frame, _ = training_frame()
        packed = pack_model(fitted_model(), input_example=frame).data
        yield served, World(run["id"], digest, f"runs:/{run['id']}/model", open_runs, packed)
    finally:
        served.stop()


def _request(served: Served, world: World, case: Case, role: str, token: str | None) -> Any:
    content = case.content
    if content == b"<packed model>":
        content = world.packed_model
    rid = f"rbac-{uuid.uuid4().hex[:16]}"
    client = served.session(token)
    return rid, client.request(
        case.method,
        case.path(world, role),
        json=case.body(world, role) if case.body else None,
        content=content,
        headers={"X-Request-ID": rid},
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_endpoint_by_role(world: tuple[Served, World], case: Case) -> None:
    served, w = world
    unexpected_allows: list[str] = []
    denied_ids: dict[str, str] = {}
    for role in ROLES:
        rid, answer = _request(served, w, case, role, served.tokens[f"user-{role}"])
        if role in case.allowed:
            ok = answer.status_code < 400 or answer.status_code in case.tolerated
            assert ok, f"{role} should be allowed {case.name}: {answer.status_code} {answer.text}"
        elif answer.status_code != 403:
            unexpected_allows.append(f"{role}: {answer.status_code} {answer.text[:200]}")
        else:
            denied_ids[rid] = role
    for label, token in (("no token", None), ("bad token", "flj_garbage")):
        _, answer = _request(served, w, case, "anonymous", token)
        if answer.status_code != 401:
            unexpected_allows.append(f"{label}: {answer.status_code}")
    assert unexpected_allows == [], f"{case.name}: unexpected allows {unexpected_allows}"
    # every refusal left a `denied` event under the request's id, naming the principal
    events = (
        served.session(served.admin_token)
        .get("/audit", params={"outcome": "denied", "limit": 1000})
        .json()
    )
    recorded = {e["request_id"]: e["principal"] for e in events}
    for rid, role in denied_ids.items():
        assert recorded.get(rid) == f"user-{role}", f"{case.name}: no denied event for {role}"


def test_the_table_covers_every_endpoint_of_the_api(world: tuple[Served, World]) -> None:
    served, _ = world
    spec = served.session(served.admin_token).get("/openapi.json").json()
    documented = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, ops in spec["paths"].items()
        for method in ops
    }

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    covered = set()
    for case in CASES:
        concrete = case.path(_EXAMPLE, "r").split("?")[0]
        for method, path in documented:
            pattern = "^" + re.escape(shape(path)).replace(r"\{\}", "[^/]+") + "$"
            if path.startswith("/runs/") and "/artifacts/" in path:  # {name:path}
                pattern = pattern.removesuffix("[^/]+$") + ".+$"
            if method == case.method and re.match(pattern, concrete):
                covered.add((method, path))
    missing = documented - covered - {("GET", "/health")}
    assert missing == set(), f"endpoints missing from the RBAC table: {sorted(missing)}"
