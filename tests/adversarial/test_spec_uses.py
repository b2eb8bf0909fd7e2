"""A YAML pipeline spec is data: its ``uses:`` may name only @step objects or allowed modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from falaj.config import Settings
from falaj.errors import ConfigError
from falaj.pipelines.errors import PipelineDefinitionError
from falaj.pipelines.spec import load_spec
from falaj.workspace import Workspace

MOD = "tests.unit.pipelines.sample_steps"


def _spec(tmp_path: Path, uses: str, params: str = "{}") -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(f"name: attack\nsteps:\n  s: {{uses: '{uses}', params: {params}}}\n")
    return path


def test_os_system_in_uses_is_refused_and_runs_nothing(ws: Workspace, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    spec = _spec(tmp_path, "os:system", f"{{command: 'touch {marker}'}}")
    with pytest.raises(PipelineDefinitionError, match="standard library module 'os'"):
        ws.pipelines.run(str(spec))
    assert not marker.exists()
    assert ws.pipelines.list_runs() == []


@pytest.mark.parametrize("uses", ["subprocess:getoutput", "builtins:eval", "antigravity:fly"])
def test_standard_library_modules_are_refused_before_import(tmp_path: Path, uses: str) -> None:
    import sys

    with pytest.raises(
        PipelineDefinitionError, match="may only use functions decorated with @step"
    ):
        load_spec(_spec(tmp_path, uses))
    assert "antigravity" not in sys.modules  # importing it would open a web browser


def test_a_plain_function_reached_through_a_step_module_is_refused(tmp_path: Path) -> None:
    # sample_steps imports json; json.loads is callable but not a @step and not allowed.
    with pytest.raises(PipelineDefinitionError, match=r"is not a @step.*which is empty"):
        load_spec(_spec(tmp_path, f"{MOD}:json.loads"))
    with pytest.raises(PipelineDefinitionError, match="is not a @step"):
        load_spec(_spec(tmp_path, f"{MOD}:_bump"))


def test_allowed_modules_admit_their_own_plain_functions_only(tmp_path: Path) -> None:
    plain = _spec(tmp_path, f"{MOD}:_bump", "{counter: c}")
    pipe = load_spec(plain, allowed_modules=["tests.unit"])
    assert pipe.order == ["s"]
    assert pipe.nodes["s"].step.fn.__name__ == "_bump"
    # an allowed module does not launder a function it merely imports from elsewhere
    with pytest.raises(PipelineDefinitionError, match="is not a @step"):
        load_spec(_spec(tmp_path, f"{MOD}:json.loads"), allowed_modules=["tests.unit"])


def test_step_modules_setting_reaches_the_pipeline_service(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    spec = tmp_path / "plain.yaml"
    spec.write_text(
        f"name: plain\nsteps:\n  s: {{uses: '{MOD}:_bump', params: {{counter: '{counter}'}}}}\n"
    )
    with (
        Workspace.init(tmp_path / "closed") as ws,
        pytest.raises(PipelineDefinitionError, match="is not a @step"),
    ):
        ws.pipelines.run(str(spec))
    assert not counter.exists()
    with Workspace.init(tmp_path / "open", step_modules="tests.unit.pipelines") as ws:
        assert ws.settings.step_modules == ("tests.unit.pipelines",)
        run = ws.pipelines.run(str(spec))
        assert run.status == "SUCCEEDED"
    assert counter.read_text() == "1"
    with pytest.raises(ConfigError, match="step_modules"):
        Settings.load(home=tmp_path / "x", step_modules="os; rm -rf /")


def test_decorated_steps_still_load(tmp_path: Path) -> None:
    pipe = load_spec(_spec(tmp_path, f"{MOD}:make_frame", "{rows: 2}"))
    assert pipe.nodes["s"].params == {"rows": 2, "counter": ""}
