"""Robustness on a real server: bad JSON, wrong types, oversized bodies and path traversal get a
clear 4xx and change nothing; schemathesis finds no 5xx for generated input."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from falaj.workspace import Workspace
from tests.e2e.server_support import Served, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_server(
        tmp_path_factory.mktemp("robust") / "ws",
        "--auth-burst",
        "1000",
        "--max-body-mb",
        "0.05",
        "--max-upload-mb",
        "0.1",
    )
    try:
        yield server
    finally:
        server.stop()


def _counts(served: Served) -> tuple[int, int, int]:
    with Workspace.open(served.home) as owner:
        experiments = len(owner.tracking.list_experiments())
        artifacts = len(owner.artifacts.list(limit=10_000))
        events = owner.audit.count()
    return experiments, artifacts, events


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"name": ', 422),  # bad JSON
        (b'{"name": 42}', 422),  # wrong type
        (b'{"name": ["a"]}', 422),
        (b"[]", 422),
        (b'{"name": "x", "description": ' + b'"' + b"d" * 20_000 + b'"}', 422),  # too long
        (b'{"name": "' + b"n" * 60_000 + b'"}', 413),  # over the body limit
    ],
    ids=["bad-json", "int-name", "list-name", "array", "long-description", "oversized"],
)
def test_bad_bodies_get_a_clear_4xx_and_change_nothing(
    served: Served, body: bytes, status: int
) -> None:
    before = _counts(served)
    with served.admin() as admin:
        answer = admin.post(
            "/experiments", content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["type"] in ("InvalidInputError", "BodyTooLargeError") and error["message"]
    assert "Traceback" not in answer.text
    assert _counts(served) == before


def test_an_oversized_upload_stores_nothing(served: Served) -> None:
    before = _counts(served)
    with served.admin() as admin:
        declared = admin.put("/artifacts", content=b"x" * 200_000)
        assert declared.status_code == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            for _ in range(40):
                yield b"y" * 10_000

        streamed = admin.put("/artifacts", content=chunks())
        assert streamed.status_code == 413, streamed.text
    assert _counts(served)[:2] == before[:2]


@pytest.mark.parametrize(
    "name",
    ["%2E%2E/%2E%2E/etc/passwd", "a/%2E%2E/b", "%2Fabsolute", "a%5Cb", "a//b", "%2E/a", "a/%00"],
)
def test_path_traversal_in_artifact_names_is_refused(served: Served, name: str) -> None:
    with served.admin() as admin:
        run_id = admin.post("/runs", json={"experiment": "robust"}).json()["id"]
    url = f"{served.url}/api/v1/runs/{run_id}/artifacts/{name}"
    headers = {"Authorization": f"Bearer {served.admin_token}"}
    with httpx.Client(timeout=60) as raw:
        put = raw.send(raw.build_request("PUT", httpx.URL(url), content=b"owned", headers=headers))
        get = raw.send(raw.build_request("GET", httpx.URL(url), headers=headers))
    assert put.status_code in (404, 422), put.text
    assert get.status_code in (404, 422), get.text
    with served.admin() as admin:
        assert admin.get(f"/runs/{run_id}").json()["artifacts"] == []


def test_generated_requests_never_get_a_5xx(served: Served) -> None:
    """Schemathesis against the served OpenAPI document, bounded to run in well under a minute:
    positive and negative examples of every operation, as the admin (the widest permissions)."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis.generation import GenerationMode

    headers = {"Authorization": f"Bearer {served.admin_token}"}
    schema = schemathesis.openapi.from_url(f"{served.url}/api/v1/openapi.json", headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    strategy = st.one_of(
        *[
            op.as_strategy(generation_mode=mode)
            for op in operations
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
    )
    failures: list[str] = []

    @settings(
        max_examples=200,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def probe(case: schemathesis.Case) -> None:
        response = case.call(base_url=served.url, headers=headers, timeout=30)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

    probe()
    assert failures == [], failures
    with served.admin() as admin:  # the server is still well after all that
        assert admin.get("/experiments").status_code == 200
