"""The wire format: service dataclasses survive JSON both ways, types and all."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from falaj.client.codec import from_jsonable, to_jsonable
from falaj.client.http import error_from
from falaj.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from falaj.governance.identity import AuthenticationError, RateLimitedError
from falaj.registry.errors import SelfApprovalError
from falaj.registry.models import ModelVersion
from falaj.server.app import is_upload
from falaj.server.errors import BodyTooLargeError, status_of
from falaj.tracking.entities import LoggedModel, Run, RunArtifact, RunInput
from falaj.tracking.errors import RunNotFoundError

T = dt.datetime(2026, 12, 1, 12, 30, tzinfo=dt.UTC)


def test_a_run_with_nested_records_round_trips() -> None:
    run = Run(
        id="r1",
        experiment="credit",
        name="run-1",
        status="FINISHED",
        start_time=T,
        end_time=T + dt.timedelta(seconds=5),
        parent_id=None,
        params={"C": "0.5"},
        metrics={"auc": 0.81},
        tags={"team": "risk"},
        error=None,
        artifacts=[RunArtifact("notes.txt", "ab" * 32, "text/plain", 5, T)],
        models=[LoggedModel("r1", "model", "cd" * 32, "sklearn", {"inputs": []}, False)],
        inputs=[RunInput("loans@1", "training")],
    )
    wire = json.loads(json.dumps(to_jsonable(run)))
    assert from_jsonable(Run, wire) == run


def test_tuples_and_optional_datetimes_come_back_typed() -> None:
    mv = ModelVersion(
        name="credit",
        version=3,
        run_id="r1",
        artifact_digest="ef" * 32,
        flavor="sklearn",
        status="READY",
        created_by="dana",
        created_at=T,
        description=None,
        aliases=("champion",),
        updated_at=None,
    )
    back = from_jsonable(ModelVersion, json.loads(json.dumps(to_jsonable(mv))))
    assert back == mv and isinstance(back.aliases, tuple)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (RateLimitedError("slow down", retry_after=3), 429),
        (AuthenticationError("who?"), 401),
        (PermissionDeniedError("no"), 403),
        (RunNotFoundError("gone"), 404),
        (AlreadyExistsError("twice"), 409),
        (SelfApprovalError("own"), 409),
        (BodyTooLargeError("big"), 413),
        (InvalidInputError("bad"), 422),
    ],
)
def test_errors_map_to_statuses(error: Exception, status: int) -> None:
    assert status_of(error) == status  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (404, "RunNotFoundError", RunNotFoundError),
        (404, "SomethingNewNotFoundError", NotFoundError),
        (409, "SelfApprovalError", SelfApprovalError),
        (409, "ConflictError", ConflictError),
        (403, "PermissionDeniedError", PermissionDeniedError),
        (401, "AuthenticationError", AuthenticationError),
        (422, "RunNotFoundError", InvalidInputError),  # a name that contradicts the status
    ],
)
def test_the_client_raises_the_class_the_server_named(
    status: int, kind: str, expected: type[Exception]
) -> None:
    response = httpx.Response(status, json={"error": {"type": kind, "message": "m"}})
    error = error_from(response)
    assert type(error) is expected and str(error) == "m"


def test_rate_limited_answers_carry_retry_after() -> None:
    response = httpx.Response(
        429,
        headers={"retry-after": "7"},
        json={"error": {"type": "RateLimitedError", "message": "x"}},
    )
    error = error_from(response)
    assert isinstance(error, RateLimitedError) and error.retry_after == 7


@pytest.mark.parametrize(
    ("method", "path", "upload"),
    [
        ("PUT", "/api/v1/artifacts", True),
        ("PUT", "/api/v1/runs/r1/artifacts/a/b.txt", True),
        ("PUT", "/api/v1/runs/r1/models/m", True),
        ("POST", "/api/v1/datasets/loans", True),
        ("POST", "/api/v1/experiments", False),
        ("PUT", "/api/v1/models/credit/aliases/champion", False),
        ("POST", "/api/v1/datasets/loans/extra", False),
    ],
)
def test_only_upload_endpoints_get_the_upload_limit(method: str, path: str, upload: bool) -> None:
    assert is_upload(method, path) is upload
