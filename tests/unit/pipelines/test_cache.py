"""Caching: hits when code, parameters and inputs match; misses when any changes."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from falaj.pipelines import pipeline
from falaj.pipelines.runner import StepEvent
from falaj.workspace import Workspace
from tests.unit.pipelines import sample_steps as s
from tests.unit.pipelines.conftest import executions


def statuses(run: object) -> list[tuple[str, str]]:
    return [(st.step, st.status) for st in run.steps]  # type: ignore[attr-defined]


def test_rerun_with_same_inputs_is_served_from_cache(ws: Workspace, counter: str) -> None:
    first = ws.pipelines.run(s.linear, params={"counter": counter})
    events: list[StepEvent] = []
    second = ws.pipelines.run(s.linear, params={"counter": counter}, on_event=events.append)
    assert executions(counter) == 2  # make_frame + add_one ran once each
    assert [st.status for st in second.steps] == ["CACHED"] * 3
    for before, after in zip(first.steps, second.steps, strict=True):
        assert after.cached_from == before.id
        assert after.cache_key == before.cache_key
        assert after.outputs == before.outputs
    assert [e.cache_key for e in events] == [st.cache_key for st in first.steps]


def test_a_cached_step_shows_the_logs_of_the_step_run_it_came_from(ws: Workspace) -> None:
    first = ws.pipelines.run(s.linear, params={"rows": 3})
    second = ws.pipelines.run(s.linear, params={"rows": 3})
    original, cached = first.latest("make_frame"), second.latest("make_frame")
    assert original is not None and cached is not None and cached.status == "CACHED"
    assert ws.pipelines.logs(original.id) == "making 3 rows\n"
    assert ws.pipelines.logs(cached.id) == "making 3 rows\n"


def test_no_cache_forces_every_step_to_run(ws: Workspace, counter: str) -> None:
    ws.pipelines.run(s.linear, params={"counter": counter})
    again = ws.pipelines.run(s.linear, params={"counter": counter}, use_cache=False)
    assert [st.status for st in again.steps] == ["SUCCEEDED"] * 3
    assert executions(counter) == 4


def test_param_change_misses_only_downstream_of_the_change(ws: Workspace) -> None:
    ws.pipelines.run(s.linear, params={"rows": 3})
    changed = ws.pipelines.run(s.linear, params={"rows": 4})
    assert statuses(changed) == [
        ("make_frame", "SUCCEEDED"),
        ("add_one", "SUCCEEDED"),
        ("summarize", "SUCCEEDED"),
    ]


def test_input_change_misses_but_identical_input_hits(ws: Workspace) -> None:
    @pipeline
    def branchy(rows: int = 3) -> None:
        s.summarize(s.make_frame(rows=rows))
        s.summarize.named("fixed")(s.make_frame.named("fixed_frame")(rows=2))

    ws.pipelines.run(branchy, params={"rows": 3})
    second = ws.pipelines.run(branchy, params={"rows": 4})
    assert dict(statuses(second)) == {
        "make_frame": "SUCCEEDED",
        "summarize": "SUCCEEDED",  # its input digest changed
        "fixed_frame": "CACHED",
        "fixed": "CACHED",
    }


def test_code_change_misses_the_cache(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "cache_mod_v.py"
    body = (
        "from falaj.pipelines import pipeline, step\n"
        "@step\n"
        "def produce() -> int:\n"
        "    return {value}\n"
        "@pipeline\n"
        "def p() -> None:\n"
        "    produce()\n"
    )
    module.write_text(body.format(value=1))
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module("cache_mod_v")
    try:
        first = ws.pipelines.run(mod.p)
        assert ws.pipelines.run(mod.p).steps[0].status == "CACHED"
        module.write_text(body.format(value=2))
        mod = importlib.reload(mod)
        changed = ws.pipelines.run(mod.p)
    finally:
        sys.modules.pop("cache_mod_v", None)
    assert changed.steps[0].status == "SUCCEEDED"
    assert changed.steps[0].code_hash != first.steps[0].code_hash
    assert ws.pipelines.load_output(changed.steps[0].id) == 2


def test_step_with_cache_disabled_always_runs(ws: Workspace, counter: str) -> None:
    uncached = s.make_frame.with_options(cache=False)

    @pipeline
    def p() -> None:
        uncached(rows=2, counter=counter)

    ws.pipelines.run(p)
    assert ws.pipelines.run(p).steps[0].status == "SUCCEEDED"
    assert executions(counter) == 2


def test_lost_cached_output_makes_the_step_run_again(ws: Workspace, counter: str) -> None:
    first = ws.pipelines.run(s.linear, params={"counter": counter})
    frame = first.latest("make_frame")
    assert frame is not None
    ws.artifacts.objects.delete(frame.outputs["output"].digest)
    again = ws.pipelines.run(s.linear, params={"counter": counter})
    assert again.latest("make_frame").status == "SUCCEEDED"  # type: ignore[union-attr]
