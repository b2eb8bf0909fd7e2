"""Validation runs through ws.datasets: policies, stored reports, quarantine, on both stores."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from falaj.data.errors import DatasetNotFoundError, ValidationFailedError
from falaj.errors import InvalidInputError
from falaj.lineage import Node
from falaj.workspace import Workspace

SUITE = {
    "suite": "loans",
    "columns": {
        "amount": {"type": "float", "nullable": False, "min": 0},
        "purpose": {"in": ["car", "home"]},
    },
}


def _loans(bad: bool = False) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"amount": [100.0, 250.0, 80.0, 40.0, 75.0], "purpose": ["car", "home"] * 2 + ["car"]}
    )
    if bad:
        frame.loc[1, "amount"] = -3.0
        frame.loc[3, "purpose"] = "boat"
        frame.loc[4, "amount"] = None
    return frame


def test_never_validated_version_has_no_status(any_ws: Workspace) -> None:
    v = any_ws.datasets.register("loans", _loans())
    assert any_ws.datasets.validation_status(v.id) is None


def test_passing_validation_is_stored_and_linked(any_ws: Workspace) -> None:
    v = any_ws.datasets.register("loans", _loans())
    result = any_ws.datasets.validate(v.id, SUITE)
    assert result.status == "passed" and result.success
    assert any_ws.datasets.validation_status(v.id) == "passed"
    (record,) = any_ws.datasets.validations(v.id)
    assert record.id == result.id and record.checks_failed == 0 and record.row_count == 5
    report = json.loads(any_ws.artifacts.get_bytes(result.report_digest))
    assert report["suite"] == "loans" and report["status"] == "passed"
    edges = any_ws.lineage.downstream(Node("dataset_version", v.id))
    assert ("artifact", result.report_digest, "validated_by") in {
        (e.target.kind, e.target.id, e.relation) for e in edges
    }


def test_fail_policy_raises_a_clear_error_and_records_the_failure(any_ws: Workspace) -> None:
    v = any_ws.datasets.register("loans", _loans(bad=True))
    with pytest.raises(ValidationFailedError) as info:
        any_ws.datasets.validate(v.id, SUITE, policy="fail")
    message = str(info.value)
    assert "loans@1 failed suite 'loans'" in message
    assert "amount.min (amount >= 0): 1 rows; e.g. [-3.0]" in message
    assert "purpose.in" in message and "amount.not_null" in message
    assert info.value.result.failed_rows == 3
    assert any_ws.datasets.validation_status(v.id) == "failed"


def test_warn_policy_returns_the_failures_and_goes_on(any_ws: Workspace) -> None:
    v = any_ws.datasets.register("loans", _loans(bad=True))
    result = any_ws.datasets.validate(v.id, SUITE, policy="warn")
    assert result.status == "warned"
    assert {c.check: c.failed_rows for c in result.failures} == {
        "amount.min": 1,
        "amount.not_null": 1,
        "purpose.in": 1,
    }
    assert any_ws.datasets.validation_status(v.id) == "warned"


def test_quarantine_splits_bad_rows_with_reasons_and_keeps_every_row(any_ws: Workspace) -> None:
    frame = _loans(bad=True)
    v = any_ws.datasets.register("loans", frame)
    result = any_ws.datasets.validate(v.id, SUITE, policy="quarantine")
    assert result.status == "warned"
    assert result.valid is not None and result.quarantined is not None
    assert len(result.valid) + len(result.quarantined) == len(frame)
    assert result.quarantine_version_id == "loans__quarantine@1"
    stored = any_ws.datasets.load(result.quarantine_version_id)
    assert stored["_falaj_row"].tolist() == [1, 3, 4]
    assert stored["_falaj_reason"].tolist() == [
        "amount.min: amount >= 0",
        "purpose.in: purpose in ['car', 'home']",
        "amount.not_null: amount is never null",
    ]
    rebuilt = pd.concat(
        [result.valid, stored.drop(columns=["_falaj_reason"]).set_index("_falaj_row")]
    )
    recombined = rebuilt.sort_index().reset_index(drop=True)
    pd.testing.assert_frame_equal(recombined, frame, check_index_type=False)
    upstream = any_ws.lineage.upstream(Node("dataset_version", "loans__quarantine@1"))
    assert ("dataset_version", "loans@1", "derived_from") in {
        (e.source.kind, e.source.id, e.relation) for e in upstream
    }


def test_quarantine_of_a_dataset_level_failure_fails(any_ws: Workspace) -> None:
    v = any_ws.datasets.register("loans", _loans())
    suite = {**SUITE, "row_count": {"min": 100}}
    with pytest.raises(ValidationFailedError, match="removing rows cannot fix"):
        any_ws.datasets.validate(v.id, suite, policy="quarantine")


def test_quarantine_of_a_dataframe_needs_a_name(any_ws: Workspace) -> None:
    with pytest.raises(InvalidInputError, match="name="):
        any_ws.datasets.validate(_loans(bad=True), SUITE, policy="quarantine")
    result = any_ws.datasets.validate(_loans(bad=True), SUITE, policy="quarantine", name="batch")
    assert result.quarantine_version_id == "batch__quarantine@1"
    assert result.dataset_version_id is None


def test_unknown_policy_is_refused(any_ws: Workspace) -> None:
    with pytest.raises(InvalidInputError, match="policy 'ignore'"):
        any_ws.datasets.validate(_loans(), SUITE, policy="ignore")  # type: ignore[arg-type]


def test_quarantine_refuses_a_check_that_cannot_be_evaluated(any_ws: Workspace) -> None:
    v = any_ws.datasets.register("loans", _loans())
    suite = {**SUITE, "checks": [{"name": "purpose_big", "expr": "purpose > 1"}]}
    with pytest.raises(ValidationFailedError, match="could not be evaluated: TypeError"):
        any_ws.datasets.validate(v.id, suite, policy="quarantine")
    assert any_ws.datasets.validation_status(v.id) == "failed"
    with pytest.raises(DatasetNotFoundError):
        any_ws.datasets.get("loans__quarantine")
