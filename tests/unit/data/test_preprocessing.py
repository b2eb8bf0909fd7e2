from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from falaj.data.preprocessing import build_preprocessor, feature_columns
from falaj.errors import InvalidInputError


def _train() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = 300
    return pd.DataFrame(
        {
            "amount": rng.normal(3000, 900, rows),
            "age": rng.integers(19, 75, rows).astype(float),
            "purpose": rng.choice(["car", "home", "education"], rows),
            "customer_id": [f"c{i}" for i in range(rows)],
            "risk": rng.integers(0, 2, rows),
        }
    )


def test_the_fitted_pipeline_transforms_a_serving_row_as_it_did_in_training() -> None:
    train = _train()
    train.loc[5, "age"] = np.nan
    train.loc[6, "purpose"] = None
    pre = build_preprocessor(train, target="risk", classifications={"customer_id": ["pii"]})
    model = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=500))])
    model.fit(train.drop(columns=["risk"]), train["risk"])
    batch_features = model.named_steps["pre"].transform(train.drop(columns=["risk"]))
    for position in (0, 5, 6):
        serving_row = pd.DataFrame([train.drop(columns=["risk"]).iloc[position].to_dict()])
        online = model.named_steps["pre"].transform(serving_row)
        np.testing.assert_array_equal(online[0], batch_features[position])
        assert model.predict_proba(serving_row)[0, 1] == pytest.approx(
            model.predict_proba(train.drop(columns=["risk"]).iloc[[position]])[0, 1]
        )


def test_an_unseen_category_at_serving_time_is_encoded_as_zeros_not_an_error() -> None:
    train = _train()
    pre = build_preprocessor(train, target="risk", classifications={"customer_id": ["pii"]})
    pre.fit(train.drop(columns=["risk"]))
    row = train.drop(columns=["risk"]).iloc[[0]].assign(purpose="yacht")
    names = list(pre.get_feature_names_out())
    encoded = pre.transform(row)[0]
    purpose = [i for i, n in enumerate(names) if n.startswith("categorical__purpose_")]
    assert len(purpose) == 3 and all(encoded[i] == 0 for i in purpose)


def test_pii_and_high_cardinality_columns_are_not_features() -> None:
    cols = feature_columns(_train(), target="risk", classifications={"age": ["pii"]})
    assert cols.numeric == ["amount"]
    assert cols.categorical == ["purpose"]
    assert set(cols.dropped) == {"age", "customer_id"}


def test_sensitive_columns_can_be_left_out() -> None:
    cols = feature_columns(
        _train(), target="risk", classifications={"age": ["sensitive"]}, include_sensitive=False
    )
    assert "age" in cols.dropped and "age" not in cols.numeric


def test_unknown_target_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="'label'"):
        build_preprocessor(_train(), target="label")
