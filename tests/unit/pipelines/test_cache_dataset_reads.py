"""A step that loads a dataset by name is not served stale data from the cache (issue 12)."""

from __future__ import annotations

import pandas as pd

from falaj.pipelines.cache import cache_key
from falaj.pipelines.dataset_reads import with_datasets
from falaj.workspace import Workspace
from tests.unit.pipelines import sample_steps as s
from tests.unit.pipelines.conftest import executions


def _register(ws: Workspace, amounts: list[int]) -> str:
    return ws.datasets.register("loans", pd.DataFrame({"amount": amounts})).id


def test_a_new_dataset_version_makes_the_step_run_again(ws: Workspace, counter: str) -> None:
    _register(ws, [1, 2])
    params = {"counter": counter}
    first = ws.pipelines.run(s.reads_dataset, params=params)
    assert ws.pipelines.load_output(first.steps[0].id) == {"rows": 2, "total": 3}
    again = ws.pipelines.run(s.reads_dataset, params=params)
    assert [st.status for st in again.steps] == ["CACHED"]
    assert executions(counter) == 1

    assert _register(ws, [1, 2, 10]) == "loans@2"
    fresh = ws.pipelines.run(s.reads_dataset, params=params)
    assert [st.status for st in fresh.steps] == ["SUCCEEDED"]
    assert ws.pipelines.load_output(fresh.steps[0].id) == {"rows": 3, "total": 13}
    assert executions(counter) == 2
    cached = ws.pipelines.run(s.reads_dataset, params=params)
    assert [st.status for st in cached.steps] == ["CACHED"]
    assert cached.steps[0].cached_from == fresh.steps[0].id
    assert executions(counter) == 2


def test_the_version_read_is_part_of_the_recorded_cache_key(ws: Workspace) -> None:
    _register(ws, [1])
    first = ws.pipelines.run(s.reads_dataset).steps[0]
    _register(ws, [1, 2])
    second = ws.pipelines.run(s.reads_dataset).steps[0]
    static = cache_key(
        first.function, first.code_hash, first.params, first.inputs, s.read_latest.options.outputs
    )
    assert first.cache_key == with_datasets(static, {"loans": "loans@1"})
    assert second.cache_key == with_datasets(static, {"loans": "loans@2"})
    assert first.cache_key != second.cache_key != static


def test_the_read_is_linked_in_lineage(ws: Workspace) -> None:
    _register(ws, [5])
    step_run = ws.pipelines.run(s.reads_dataset).steps[0]
    edges = ws.lineage.upstream(f"step_run:{step_run.id}", max_depth=1)
    assert [(e.source.kind, e.source.id, e.relation) for e in edges if e.relation == "read"] == [
        ("dataset_version", "loans@1", "read")
    ]


def test_a_pinned_read_stays_cached_when_a_new_version_arrives(ws: Workspace, counter: str) -> None:
    _register(ws, [1])
    ws.pipelines.run(s.reads_pinned, params={"counter": counter})
    _register(ws, [1, 2])
    again = ws.pipelines.run(s.reads_pinned, params={"counter": counter})
    assert [st.status for st in again.steps] == ["CACHED"]
    assert executions(counter) == 1
