"""Materializers: outputs to bytes and back, and pickle only when trusted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from falaj.pipelines.errors import UnsafeOutputError
from falaj.pipelines.materializers import materialize, unmaterialize
from tests.unit.pipelines.sample_steps import Opaque


def test_dataframe_round_trips_through_parquet() -> None:
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    m = materialize(df, trusted=False, where="t")
    assert m.materializer == "parquet"
    assert m.data[:4] == b"PAR1"
    pd.testing.assert_frame_equal(unmaterialize("parquet", m.data, trusted=False), df)


def test_dataframe_bytes_are_deterministic() -> None:
    df = pd.DataFrame({"a": [1.5, 2.5]})
    assert materialize(df, trusted=False, where="t") == materialize(df, trusted=False, where="t")


def test_ndarray_round_trips_through_npy_without_pickle() -> None:
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    m = materialize(arr, trusted=False, where="t")
    assert m.materializer == "npy"
    assert m.data[:6] == b"\x93NUMPY"
    np.testing.assert_array_equal(unmaterialize("npy", m.data, trusted=False), arr)


@pytest.mark.parametrize("value", [{"a": [1, 2.5, None]}, [1, "two"], "text", 3, 2.5, True, None])
def test_json_values_round_trip(value: object) -> None:
    m = materialize(value, trusted=False, where="t")
    assert m.materializer == "json"
    assert unmaterialize("json", m.data, trusted=False) == value


def test_unknown_type_is_refused_without_trust() -> None:
    with pytest.raises(UnsafeOutputError, match=r"step 's' output 'o'.*trusted=True"):
        materialize(Opaque(1), trusted=False, where="step 's' output 'o'")


def test_unknown_type_is_pickled_when_trusted() -> None:
    m = materialize(Opaque(5), trusted=True, where="t")
    assert m.materializer == "pickle"
    assert unmaterialize("pickle", m.data, trusted=True).n == 5


def test_pickled_input_is_not_loaded_without_trust() -> None:
    m = materialize(Opaque(5), trusted=True, where="t")
    with pytest.raises(UnsafeOutputError, match="trusted"):
        unmaterialize("pickle", m.data, trusted=False)


@pytest.mark.slow
def test_models_use_the_tracking_flavors() -> None:
    from sklearn.linear_model import LogisticRegression

    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(x, [0, 0, 1, 1])
    m = materialize(model, trusted=False, where="t")
    assert m.materializer == "model"
    loaded = unmaterialize("model", m.data, trusted=False)
    assert loaded.flavor == "sklearn"
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
