"""Decoding and validation of requests against a real logged model's signature."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from falaj.governance.principal import Principal
from falaj.serving import InferenceInputError, ModelLoadError
from falaj.serving.replica import PlannedRevision
from falaj.serving.router import Target
from falaj.serving.runtime import ModelRuntime
from falaj.serving.sources import load_runtime
from falaj.workspace import Workspace
from tests.serving_support import MODEL, frame, register, v2_body


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, ModelRuntime]]:
    home: Path = tmp_path_factory.mktemp("runtime") / "ws"
    with Workspace.init(home, principal=Principal("alice")) as ws:
        version = register(ws)
        mv = ws.registry.get_version(MODEL, version)
        rev = PlannedRevision(Target("r1", 100), MODEL, version, mv.artifact_digest)
        yield ws, load_runtime(ws.registry, rev)


def test_v2_tensors_become_the_signature_frame_and_answers_match_the_model(
    runtime: tuple[Workspace, ModelRuntime],
) -> None:
    ws, rt = runtime
    x, _ = frame(4)
    decoded = rt.frame_from_v2(v2_body(x)["inputs"])
    assert list(decoded.columns) == ["income", "debt"] and decoded["income"].dtype == np.float64
    answer = rt.infer(decoded)
    assert answer.predict.tolist() == ws.registry.load_model(MODEL, 1).predict(x).tolist()
    assert answer.proba is not None and answer.proba.shape == (4, 2)
    outputs = {o["name"]: o for o in answer.v2_outputs()}
    assert outputs["predict_proba"]["shape"] == [4, 2]
    assert len(outputs["predict_proba"]["data"]) == 8


def test_nested_shape_n_by_1_and_integers_for_floats_are_accepted(
    runtime: tuple[Workspace, ModelRuntime],
) -> None:
    _, rt = runtime
    inputs = [
        {"name": "income", "shape": [2, 1], "datatype": "INT64", "data": [[3], [4]]},
        {"name": "debt", "shape": [2], "datatype": "FP32", "data": [1.5, 2]},
    ]
    decoded = rt.frame_from_v2(inputs)
    assert decoded["income"].tolist() == [3.0, 4.0]


@pytest.mark.parametrize(
    ("inputs", "words"),
    [
        (None, "'inputs' is missing"),
        ([1], "inputs[0] is int"),
        ([{"data": [1]}], "has no 'name'"),
        ([{"name": "income", "data": 3}], "'data' must be a list"),
        ([{"name": "income", "data": [1], "datatype": "FP128"}], "datatype 'FP128' is unknown"),
        ([{"name": "income", "data": [1.0], "shape": [1, 2]}], "shape [1, 2]"),
        ([{"name": "income", "data": [1.0]}], "'debt' is missing"),
        (
            [{"name": "income", "data": [True]}, {"name": "debt", "data": [1.0]}],
            "value 'True' (bool)",
        ),
        (
            [{"name": "income", "data": [2.5, False]}, {"name": "debt", "data": [1.0, 2.0]}],
            "value 'False' (bool) in row 1",
        ),
        (
            [{"name": "income", "data": [2.5, "3"]}, {"name": "debt", "data": [1.0, 2.0]}],
            "value '3' (str) in row 1",
        ),
        (
            [{"name": "income", "data": [float("nan")]}, {"name": "debt", "data": [1.0]}],
            "missing value",
        ),
    ],
)
def test_bad_tensors_are_refused_naming_the_problem(
    runtime: tuple[Workspace, ModelRuntime], inputs: object, words: str
) -> None:
    _, rt = runtime
    with pytest.raises(InferenceInputError) as info:
        rt.frame_from_v2(inputs)
    assert words in str(info.value)


def test_records_are_validated_too(runtime: tuple[Workspace, ModelRuntime]) -> None:
    _, rt = runtime
    assert len(rt.frame_from_records({"records": [{"income": 1, "debt": 2}]})) == 1
    with pytest.raises(InferenceInputError, match="missing in record 1"):
        rt.frame_from_records([{"income": 1, "debt": 2}, {"income": 1}])
    with pytest.raises(InferenceInputError, match="non-empty JSON list"):
        rt.frame_from_records([])


def test_a_revision_whose_pinned_digest_differs_is_never_loaded(
    runtime: tuple[Workspace, ModelRuntime],
) -> None:
    ws, _ = runtime
    rev = PlannedRevision(Target("r2", 100), MODEL, 1, "0" * 64)
    with pytest.raises(ModelLoadError, match="pinned 0000"):
        load_runtime(ws.registry, rev)


@pytest.mark.slow
@pytest.mark.parametrize(
    "make",
    [
        "sklearn.linear_model:LogisticRegression",
        "sklearn.ensemble:RandomForestClassifier",
        "sklearn.ensemble:ExtraTreesClassifier",
        "sklearn.tree:DecisionTreeClassifier",
        "sklearn.ensemble:HistGradientBoostingClassifier",
        "sklearn.ensemble:GradientBoostingClassifier",
    ],
)
def test_the_one_call_fast_path_answers_exactly_what_predict_does(make: str) -> None:
    import importlib

    from falaj.serving.runtime import argmax_is_predict

    module, name = make.split(":")
    x, y = frame(400, seed=1)
    y3 = y + (x["debt"] > 4).to_numpy()  # three classes
    for target in (y, y3):
        model = getattr(importlib.import_module(module), name)().fit(x, target)
        assert argmax_is_predict(model)
        fast = model.classes_[model.predict_proba(x).argmax(axis=1)]
        assert fast.tolist() == model.predict(x).tolist()
