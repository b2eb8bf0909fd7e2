"""Authoring: DAGs from data dependencies, YAML specs, and clear definition errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from falaj.pipelines import Pipeline, load_spec, pipeline, step
from falaj.pipelines.errors import (
    PipelineCycleError,
    PipelineDefinitionError,
    PipelineNotFoundError,
)
from falaj.pipelines.spec import load_pipeline, parse_spec
from tests.unit.pipelines import sample_steps as s

MOD = "tests.unit.pipelines.sample_steps"


def test_steps_are_plain_functions_outside_a_pipeline() -> None:
    frame = s.make_frame(rows=2)
    assert list(frame["x"]) == [0, 1]


def test_pipeline_orders_steps_by_data_dependencies() -> None:
    pipe = s.linear(rows=3)
    assert isinstance(pipe, Pipeline)
    assert pipe.order == ["make_frame", "add_one", "summarize"]
    assert pipe.nodes["add_one"].inputs["df"].step == "make_frame"
    assert pipe.nodes["make_frame"].params == {"rows": 3, "counter": ""}
    assert pipe.params == {"rows": 3, "counter": ""}


def test_independent_branches_have_no_edge_between_them() -> None:
    pipe = s.diamond()
    assert pipe.nodes["timed"].upstream == set()
    assert pipe.nodes["timed_right"].upstream == set()
    assert pipe.nodes["join"].upstream == {"timed", "timed_right"}
    assert pipe.order[-1] == "join"


def test_same_step_twice_gets_a_unique_name() -> None:
    @pipeline
    def twice() -> None:
        a = s.make_frame(rows=1)
        s.add_one(a)
        s.add_one(a)

    assert twice().order == ["make_frame", "add_one", "add_one_2"]


def test_multiple_outputs_become_separate_handles() -> None:
    @step(outputs=("train", "test"))
    def split(df):  # type: ignore[no-untyped-def]
        return df.head(1), df.tail(1)

    @pipeline
    def p() -> None:
        _train, test = split(s.make_frame())
        s.summarize(test)

    built = p()
    assert str(built.nodes["summarize"].inputs["df"]) == "split.test"


def test_non_json_parameter_is_refused_naming_the_step() -> None:
    @pipeline
    def p() -> None:
        s.make_frame(rows=object())

    with pytest.raises(PipelineDefinitionError, match=r"step 'make_frame': parameter 'rows'"):
        p()


def test_unknown_argument_is_refused_naming_the_step() -> None:
    @pipeline
    def p() -> None:
        s.make_frame(colour="red")

    with pytest.raises(PipelineDefinitionError, match=r"step 'make_frame': bad arguments"):
        p()


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"retries": -1}, "retries"),
        ({"timeout": 0}, "timeout"),
        ({"resources": {"cpus": -2}}, "resources.cpus"),
        ({"resources": {"memory": "lots"}}, "resources.memory"),
        ({"resources": {"tpus": 1}}, "unknown resources"),
        ({"outputs": 5}, "outputs=5 is invalid"),
        ({"outputs": ["a", "a"]}, "outputs="),
    ],
)
def test_bad_step_options_name_the_field(options: dict[str, object], field: str) -> None:
    with pytest.raises(PipelineDefinitionError, match=field):
        step(name="s", **options)(lambda: 1)  # type: ignore[call-overload]


def test_memory_sizes_are_parsed_to_bytes() -> None:
    st = step(name="m", resources={"memory": "2GiB", "gpus": 1})(lambda: 1)
    assert st.options.resources.memory == 2 * 1024**3
    assert st.options.resources.gpus == 1.0


SPEC = f"""
name: linear_yaml
params: {{rows: 5}}
steps:
  summary:
    uses: {MOD}:summarize
    inputs: {{df: bigger}}
  frame:
    uses: {MOD}:make_frame
    params: {{rows: "${{rows}}"}}
  bigger:
    uses: {MOD}:add_one
    inputs: {{df: frame.output}}
    options: {{retries: 2, timeout: 30, resources: {{cpus: 2}}}}
"""


def test_yaml_spec_builds_the_same_dag(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(SPEC)
    pipe = load_spec(path, {"rows": 7})
    assert pipe.order == ["frame", "bigger", "summary"]
    assert pipe.nodes["frame"].params == {"rows": 7, "counter": ""}
    assert pipe.nodes["bigger"].step.options.retries == 2
    assert pipe.nodes["bigger"].step.options.resources.cpus == 2.0
    assert pipe.source == str(path.absolute())
    assert load_pipeline(str(path)).nodes["frame"].params["rows"] == 5


def test_yaml_cycle_is_reported_with_its_steps() -> None:
    spec = {
        "name": "loop",
        "steps": {
            "a": {"uses": f"{MOD}:add_one", "inputs": {"df": "b"}},
            "b": {"uses": f"{MOD}:add_one", "inputs": {"df": "a"}},
        },
    }
    with pytest.raises(PipelineCycleError, match=r"cycle: a -> b -> a"):
        parse_spec(spec)


def test_yaml_unknown_step_function_names_the_step() -> None:
    spec = {"name": "x", "steps": {"load": {"uses": f"{MOD}:no_such_step"}}}
    with pytest.raises(PipelineDefinitionError, match=r"step 'load': unknown step"):
        parse_spec(spec)


def test_yaml_wiring_to_a_missing_step_names_both() -> None:
    spec = {"name": "x", "steps": {"sum": {"uses": f"{MOD}:summarize", "inputs": {"df": "nope"}}}}
    with pytest.raises(PipelineDefinitionError, match=r"step 'sum': input 'df' .* 'nope'"):
        parse_spec(spec)


def test_yaml_wiring_to_a_missing_output_names_the_output() -> None:
    spec = {
        "name": "x",
        "steps": {
            "f": {"uses": f"{MOD}:make_frame"},
            "sum": {"uses": f"{MOD}:summarize", "inputs": {"df": "f.train"}},
        },
    }
    with pytest.raises(PipelineDefinitionError, match=r"output 'train' of step 'f'"):
        parse_spec(spec)


def test_yaml_missing_required_argument_names_the_step() -> None:
    spec = {"name": "x", "steps": {"sum": {"uses": f"{MOD}:summarize"}}}
    with pytest.raises(PipelineDefinitionError, match=r"step 'sum': bad arguments"):
        parse_spec(spec)


def test_unknown_module_attr_source_is_not_found() -> None:
    with pytest.raises(PipelineNotFoundError, match="no attribute"):
        load_pipeline(f"{MOD}:missing_pipeline")


def test_module_attr_source_builds_with_params() -> None:
    pipe = load_pipeline(f"{MOD}:linear", {"rows": 9})
    assert pipe.source == f"{MOD}:linear"
    assert pipe.nodes["make_frame"].params["rows"] == 9


def test_yaml_spec_that_is_not_utf8_or_not_a_file_is_a_clear_error(tmp_path: Path) -> None:
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("name: café\n".encode("latin-1"))
    with pytest.raises(PipelineDefinitionError, match=r"latin1.yaml is not UTF-8 text \(byte 9"):
        load_spec(latin)
    with pytest.raises(PipelineDefinitionError, match="line 2, column 1: not valid YAML"):
        bad = tmp_path / "bad.yaml"
        bad.write_text("name: [x\n", encoding="utf-8")
        load_spec(bad)
