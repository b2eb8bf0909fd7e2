"""The dataset service contract: the same behaviour on SQLite and PostgreSQL metadata stores."""

from __future__ import annotations

import pandas as pd
import pytest

from falaj.data.errors import DatasetNotFoundError
from falaj.errors import InvalidInputError
from falaj.lineage import Node
from falaj.workspace import Workspace


def _credit(rows: int = 50, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": [1000.0 + i * 10 + shift for i in range(rows)],
            "age": [20 + i % 50 for i in range(rows)],
            "sex": ["male" if i % 2 else "female" for i in range(rows)],
        }
    )


def test_register_numbers_versions_and_returns_the_same_version_for_the_same_data(
    any_ws: Workspace,
) -> None:
    first = any_ws.datasets.register("credit", _credit())
    again = any_ws.datasets.register("credit", _credit())
    changed = any_ws.datasets.register("credit", _credit(shift=1.0))
    assert (first.id, again.id, changed.id) == ("credit@1", "credit@1", "credit@2")
    assert [v.version for v in any_ws.datasets.versions("credit")] == [1, 2]
    assert any_ws.datasets.get("credit").id == "credit@2"
    assert any_ws.datasets.get("credit", 1).content_digest == first.content_digest


def test_a_version_records_schema_rows_principal_region_and_classifications(
    any_ws: Workspace,
) -> None:
    v = any_ws.datasets.register(
        "credit",
        _credit(),
        classifications={"sex": ["sensitive"], "age": ["sensitive", "pii"]},
        description="applicants",
    )
    got = any_ws.datasets.get(v.id)
    assert got.schema == [
        {"name": "amount", "type": "double"},
        {"name": "age", "type": "int64"},
        {"name": "sex", "type": "string"},
    ]
    assert got.row_count == 50
    assert got.created_by == "alice" and got.region == "ae-dubai-1"
    assert got.classifications == {"sex": ["sensitive"], "age": ["pii", "sensitive"]}
    assert got.columns_labelled("sensitive") == ["sex", "age"]
    assert got.description == "applicants"
    assert got.source == {"kind": "dataframe", "columns": 3}


def test_load_returns_the_registered_rows(any_ws: Workspace) -> None:
    frame = _credit()
    v = any_ws.datasets.register("credit", frame)
    pd.testing.assert_frame_equal(any_ws.datasets.load(v.id), frame)


def test_the_parquet_bytes_and_profile_are_stored_artifacts_linked_by_lineage(
    any_ws: Workspace,
) -> None:
    v = any_ws.datasets.register("credit", _credit())
    edges = any_ws.lineage.downstream(Node("dataset_version", v.id))
    assert {(e.target.kind, e.target.id, e.relation) for e in edges} == {
        ("artifact", v.artifact_digest, "stored_as"),
        ("artifact", v.profile_digest, "profiled_as"),
    }
    assert any_ws.artifacts.info(v.artifact_digest).media_type == "application/vnd.apache.parquet"
    assert any_ws.artifacts.get_bytes(v.artifact_digest)[:4] == b"PAR1"


def test_register_is_audited_with_the_version_id(any_ws: Workspace) -> None:
    v = any_ws.datasets.register("credit", _credit())
    any_ws.datasets.register("credit", _credit())
    events = any_ws.audit.list(action="dataset.register", newest_first=False)
    assert [(e.resource_id, e.details.get("deduplicated")) for e in events] == [
        (v.id, False),
        (v.id, True),
    ]


def test_classifying_an_unknown_column_is_refused_and_stores_nothing(any_ws: Workspace) -> None:
    with pytest.raises(InvalidInputError, match="'income'"):
        any_ws.datasets.register("credit", _credit(), classifications={"income": ["pii"]})
    with pytest.raises(DatasetNotFoundError):
        any_ws.datasets.get("credit")


def test_unknown_dataset_and_version_are_not_found(any_ws: Workspace) -> None:
    any_ws.datasets.register("credit", _credit())
    with pytest.raises(DatasetNotFoundError, match="credit@9"):
        any_ws.datasets.get("credit@9")
    with pytest.raises(DatasetNotFoundError, match="'nope'"):
        any_ws.datasets.versions("nope")


@pytest.mark.parametrize("version", ["2", 1.5, True, 0])
def test_a_version_that_is_not_a_positive_integer_is_refused(
    any_ws: Workspace, version: object
) -> None:
    any_ws.datasets.register("credit", _credit())
    with pytest.raises(InvalidInputError, match="expected an integer >= 1"):
        any_ws.datasets.get("credit", version)  # type: ignore[arg-type]


def test_a_description_that_is_not_text_is_refused(any_ws: Workspace) -> None:
    with pytest.raises(InvalidInputError, match="description 5 is invalid: expected a string"):
        any_ws.datasets.register("credit", _credit(), description=5)  # type: ignore[arg-type]
    assert any_ws.datasets.latest_versions() == []


def test_anomalies_of_a_batch_that_is_not_a_frame_is_refused(any_ws: Workspace) -> None:
    v = any_ws.datasets.register("credit", _credit())
    with pytest.raises(InvalidInputError, match="batch of type list is invalid"):
        any_ws.datasets.detect_anomalies([1, 2], v.id)  # type: ignore[arg-type]


def test_profile_is_stored_with_the_version(any_ws: Workspace) -> None:
    v = any_ws.datasets.register("credit", _credit())
    profile = any_ws.datasets.profile(v.id)
    assert profile.row_count == 50
    assert profile.columns["amount"].min == 1000.0 and profile.columns["amount"].max == 1490.0
    assert dict(profile.columns["sex"].top) == {"female": 25, "male": 25}


def test_diff_reports_schema_rows_and_statistics(any_ws: Workspace) -> None:
    a = any_ws.datasets.register("credit", _credit())
    frame = _credit(rows=60).drop(columns=["sex"]).assign(income=1.0)
    b = any_ws.datasets.register("credit", frame)
    diff = any_ws.datasets.diff(a.id, b.id)
    assert diff.added_columns == [{"name": "income", "type": "double"}]
    assert diff.removed_columns == [{"name": "sex", "type": "string"}]
    assert diff.row_count_change == 10
    changed = {(c.column, c.stat) for c in diff.stat_changes}
    assert ("amount", "max") in changed and ("amount", "min") not in changed
    assert not diff.same_content


def test_latest_versions_lists_each_dataset_once(any_ws: Workspace) -> None:
    any_ws.datasets.register("a", _credit())
    any_ws.datasets.register("a", _credit(shift=2.0))
    any_ws.datasets.register("b", _credit())
    assert [v.id for v in any_ws.datasets.latest_versions()] == ["a@2", "b@1"]


def test_concurrent_registers_get_distinct_version_numbers(any_ws: Workspace) -> None:
    from concurrent.futures import ThreadPoolExecutor

    frames = [_credit(shift=float(i)) for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(lambda f: any_ws.datasets.register("credit", f).id, frames))
    assert sorted(ids) == ["credit@1", "credit@2", "credit@3", "credit@4"]
    assert [v.version for v in any_ws.datasets.versions("credit")] == [1, 2, 3, 4]


def test_profiles_of_pii_columns_hold_counts_but_no_values(any_ws: Workspace) -> None:
    frame = _credit().assign(email=[f"person{i}@example.com" for i in range(50)])
    v = any_ws.datasets.register("credit", frame, classifications={"email": ["pii"]})
    email = any_ws.datasets.profile(v.id).columns["email"]
    assert email.redacted and email.distinct_count == 50 and email.null_count == 0
    assert email.top == [] and email.min is None
    stored = any_ws.artifacts.get_bytes(v.profile_digest or "")
    assert b"person1@example.com" not in stored
    assert any_ws.datasets.profile(v.id).columns["sex"].top  # other columns keep their values
