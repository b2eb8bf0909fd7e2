"""Models as artifacts: every flavor round-trips, signatures are enforced, pickle needs trust."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np
import pandas as pd
import pytest

from falaj.errors import IntegrityError, InvalidInputError, SchemaError
from falaj.tracking.errors import UntrustedModelError
from falaj.tracking.models import NoPredictProbaError, pack_model, read_manifest, unpack_model
from falaj.workspace import Workspace


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {"income": rng.normal(50, 10, 300), "age": rng.integers(18, 80, 300).astype("int64")}
    )
    target = ((frame.income - 50) / 10 + (frame.age - 50) / 30 > 0).astype(int)
    return frame, target


def _sklearn(x: pd.DataFrame, y: pd.Series) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pre = ColumnTransformer([("num", StandardScaler(), ["income", "age"])])
    return Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(x, y)


def _lightgbm(x: pd.DataFrame, y: pd.Series) -> Any:
    import lightgbm as lgb

    return lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(x, y)


def _xgboost(x: pd.DataFrame, y: pd.Series) -> Any:
    import xgboost as xgb

    return xgb.XGBClassifier(n_estimators=10, max_depth=3).fit(x, y)


def _onnx(x: pd.DataFrame, y: pd.Series) -> Any:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(x.to_numpy(dtype=np.float32), y)
    return to_onnx(model, x.to_numpy(dtype=np.float32)[:1], options={"zipmap": False})


class ThresholdModel:
    """A plain python model (pyfunc flavor)."""

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return (df["income"].to_numpy() > 50).astype(int)


def _pyfunc(x: pd.DataFrame, y: pd.Series) -> Any:
    return ThresholdModel()


@pytest.mark.parametrize(
    ("flavor", "build", "trusted"),
    [
        ("sklearn", _sklearn, False),
        ("lightgbm", _lightgbm, False),
        ("xgboost", _xgboost, False),
        ("onnx", _onnx, False),
        ("pyfunc", _pyfunc, True),
    ],
)
@pytest.mark.slow
def test_flavor_round_trips_with_identical_predictions(
    data: tuple[pd.DataFrame, pd.Series], flavor: str, build: Any, trusted: bool
) -> None:
    x, y = data
    model = build(x, y)
    packed = pack_model(model, input_example=x.head(5), trusted=trusted)
    assert packed.flavor == flavor
    assert packed.trusted is trusted
    assert packed.signature is not None
    assert packed.signature["inputs"] == [
        {"name": "income", "type": "float"},
        {"name": "age", "type": "integer"},
    ]
    loaded = unpack_model(packed.data, trusted=trusted)
    assert loaded.flavor == flavor
    expected = model.predict(x) if flavor not in ("onnx",) else _onnx_reference(model, x)
    np.testing.assert_array_equal(loaded.predict(x), np.asarray(expected))


def _onnx_reference(model: Any, x: pd.DataFrame) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.asarray(session.run(None, {name: x.to_numpy(dtype=np.float32)})[0])


@pytest.mark.parametrize("build", [_sklearn, _lightgbm, _xgboost, _onnx])
@pytest.mark.slow
def test_classifier_probabilities_survive_the_round_trip(
    data: tuple[pd.DataFrame, pd.Series], build: Any
) -> None:
    x, y = data
    model = build(x, y)
    loaded = unpack_model(pack_model(model, input_example=x.head(3)).data)
    proba = loaded.predict_proba(x.head(20))
    assert proba.shape == (20, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    if hasattr(model, "predict_proba"):
        np.testing.assert_allclose(proba, model.predict_proba(x.head(20)), rtol=1e-5)


def test_missing_column_is_a_schema_error_naming_it(data: tuple[pd.DataFrame, pd.Series]) -> None:
    x, y = data
    loaded = unpack_model(pack_model(_sklearn(x, y), input_example=x.head(3)).data)
    with pytest.raises(SchemaError, match="input column 'age' is missing"):
        loaded.predict(x.drop(columns=["age"]))


def test_wrong_type_is_a_schema_error_naming_the_column(
    data: tuple[pd.DataFrame, pd.Series],
) -> None:
    x, y = data
    loaded = unpack_model(pack_model(_lightgbm(x, y), input_example=x.head(3)).data)
    bad = x.head(3).assign(income=["a", "b", "c"])
    with pytest.raises(SchemaError, match=r"input column 'income' has type string.*expects float"):
        loaded.predict(bad)


def test_missing_values_the_library_refuses_are_a_prediction_error_naming_the_column(
    data: tuple[pd.DataFrame, pd.Series],
) -> None:
    from falaj.tracking.errors import ModelPredictionError

    x, y = data
    loaded = unpack_model(pack_model(_sklearn(x, y), input_example=x.head(3)).data)
    bad = x.head(4).assign(income=[1.0, np.nan, 2.0, 3.0])
    with pytest.raises(ModelPredictionError, match=r"refused predict on 4 row\(s\): .*NaN") as e:
        loaded.predict(bad)
    assert "columns with missing values: income" in str(e.value)
    with pytest.raises(ModelPredictionError, match="refused predict_proba on 4 row"):
        loaded.predict_proba(bad)


def test_an_empty_frame_is_a_prediction_error(data: tuple[pd.DataFrame, pd.Series]) -> None:
    from falaj.tracking.errors import ModelPredictionError

    x, y = data
    loaded = unpack_model(pack_model(_sklearn(x, y), input_example=x.head(3)).data)
    with pytest.raises(ModelPredictionError, match=r"refused predict on 0 row\(s\)"):
        loaded.predict(x.head(0))


def test_integers_are_widened_where_floats_are_expected(
    data: tuple[pd.DataFrame, pd.Series],
) -> None:
    x, y = data
    loaded = unpack_model(pack_model(_sklearn(x, y), input_example=x.head(3)).data)
    ints = x.head(5).assign(income=x.income.head(5).round().astype("int64"))
    assert loaded.predict(ints).shape == (5,)


@pytest.mark.slow
def test_extra_columns_are_ignored_and_order_follows_the_signature(
    data: tuple[pd.DataFrame, pd.Series],
) -> None:
    x, y = data
    loaded = unpack_model(pack_model(_xgboost(x, y), input_example=x.head(3)).data)
    shuffled = x.head(10)[["age", "income"]].assign(extra=1)
    np.testing.assert_array_equal(loaded.predict(shuffled), loaded.predict(x.head(10)))


def test_pyfunc_needs_trust_to_log(data: tuple[pd.DataFrame, pd.Series]) -> None:
    with pytest.raises(UntrustedModelError, match="trusted=True"):
        pack_model(ThresholdModel())


def test_untrusted_pickle_is_refused_at_load(data: tuple[pd.DataFrame, pd.Series]) -> None:
    packed = pack_model(ThresholdModel(), trusted=True)
    with pytest.raises(UntrustedModelError, match="is a pickle and loading it runs code"):
        unpack_model(packed.data)
    assert read_manifest(packed.data)["trusted"] is True


class CustomScaler:
    """A type outside the skops allow-list, held inside a scikit-learn estimator."""

    def __init__(self) -> None:
        self.factor = 2.0


@pytest.mark.parametrize("value", ["no", "yes", 1, None])
def test_trusted_must_be_a_real_boolean_so_a_string_never_lets_pickle_run(
    data: tuple[pd.DataFrame, pd.Series], value: object
) -> None:
    x, y = data
    packed = pack_model(_pyfunc(x, y), input_example=x.head(3), trusted=True)
    with pytest.raises(InvalidInputError, match=f"trusted {value!r} is invalid"):
        unpack_model(packed.data, trusted=value)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=f"trusted {value!r} is invalid"):
        pack_model(_pyfunc(x, y), input_example=x.head(3), trusted=value)  # type: ignore[arg-type]


def test_sklearn_model_holding_unknown_types_needs_trust_both_ways(
    data: tuple[pd.DataFrame, pd.Series],
) -> None:
    from sklearn.preprocessing import FunctionTransformer

    x, _ = data
    model = FunctionTransformer(kw_args={"scaler": CustomScaler()}).fit(x)
    with pytest.raises(UntrustedModelError, match="CustomScaler"):
        pack_model(model)
    packed = pack_model(model, trusted=True)
    assert packed.trusted is True
    with pytest.raises(UntrustedModelError, match="CustomScaler"):
        unpack_model(packed.data)
    assert isinstance(unpack_model(packed.data, trusted=True).raw, FunctionTransformer)


def test_regressor_has_no_predict_proba(data: tuple[pd.DataFrame, pd.Series]) -> None:
    from sklearn.linear_model import LinearRegression

    x, y = data
    loaded = unpack_model(pack_model(LinearRegression().fit(x, y), input_example=x.head(2)).data)
    with pytest.raises(NoPredictProbaError, match="does not predict probabilities"):
        loaded.predict_proba(x.head(2))


def test_archive_holds_manifest_with_flavor_signature_and_versions(
    data: tuple[pd.DataFrame, pd.Series],
) -> None:
    x, y = data
    packed = pack_model(_lightgbm(x, y), input_example=x.head(2))
    with zipfile.ZipFile(io.BytesIO(packed.data)) as archive:
        names = sorted(archive.namelist())
        manifest = json.loads(archive.read("falaj-model.json"))
    assert names == ["falaj-model.json", "model.lgb.txt"]
    assert manifest["flavor"] == "lightgbm"
    assert manifest["trusted"] is False
    assert "lightgbm" in manifest["libraries"]
    assert manifest["signature"] == packed.signature


def test_same_lightgbm_model_packs_to_the_same_bytes(data: tuple[pd.DataFrame, pd.Series]) -> None:
    x, y = data
    model = _lightgbm(x, y)
    assert pack_model(model).data == pack_model(model).data


def test_garbage_bytes_are_an_integrity_error() -> None:
    with pytest.raises(IntegrityError, match="not a zip file"):
        unpack_model(b"definitely not a model")


def test_unknown_flavor_name_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="flavor 'tensorflow' is unknown"):
        pack_model(ThresholdModel(), flavor="tensorflow")


def test_logged_model_loads_by_uri_and_by_digest(
    ws: Workspace, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, y = data
    with ws.start_run("credit") as run:
        logged = run.log_model(_sklearn(x, y), input_example=x.head(3))
    assert logged.uri == f"runs:/{run.id}/model"
    by_uri = ws.tracking.load_model(logged.uri)
    by_digest = ws.tracking.load_model(logged.artifact_digest)
    np.testing.assert_array_equal(by_uri.predict(x.head(10)), by_digest.predict(x.head(10)))
    assert ws.tracking.get_run(run.id).models == [logged]
