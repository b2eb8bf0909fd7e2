"""Explanations with SHAP, in terms of the model's original input columns.

:func:`build_explainer` picks the method from the fitted model:

- ``tree``: ``shap.TreeExplainer`` for tree ensembles (scikit-learn forests and boosting,
  LightGBM, XGBoost); contributions in the unit the explainer really outputs, checked against
  the model (``output_unit``: probability for a random forest, log-odds for boosting);
- ``linear``: ``shap.LinearExplainer`` for linear models (log-odds for logistic regression),
  with a background sample;
- ``permutation``: sampled-permutation Shapley values (the algorithm of SHAP's permutation
  explainer, antithetic pairs, computed here on the input frame as is) on the whole model for
  anything else, with a budget of coalitions per row (``sample_budget``); contributions in
  predicted probability (classifiers) or predicted value.

For a ``Pipeline`` whose first steps transform the data (a ``ColumnTransformer`` with one-hot
encoding...), tree and linear explainers run on the transformed matrix and the contributions of
the transformed columns are summed back onto the input column each came from (SHAP values are
additive, so the sums are the contributions of the source columns).

:class:`Explainer` is the per-prediction function object serving reuses for ``/explain``:
``explainer.explain_one(row) -> {feature: contribution}``; :func:`explain` adds the global
importance (mean absolute contribution) and per-feature effect summaries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from falaj.training.errors import ExplainError

__all__ = ["Explainer", "Explanation", "FeatureEffect", "build_explainer", "explain"]

Method = Literal["tree", "linear", "permutation"]
_TREE_MODULES = ("sklearn.ensemble", "sklearn.tree", "lightgbm", "xgboost")
_NOT_TREES = ("Voting", "Stacking", "Bagging", "AdaBoost")
_LINEAR_MODULES = ("sklearn.linear_model",)


@dataclass(frozen=True)
class FeatureEffect:
    """How one input column moves predictions across the explained rows."""

    feature: str
    mean_abs: float
    mean: float
    kind: Literal["numeric", "categorical"]
    correlation: float | None = None
    by_category: dict[str, float] | None = None

    @property
    def direction(self) -> str:
        if self.correlation is None or not math.isfinite(self.correlation):
            return "mixed"
        if abs(self.correlation) < 0.1:
            return "mixed"
        return (
            "higher values raise the output"
            if self.correlation > 0
            else ("higher values lower the output")
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "mean_abs": self.mean_abs,
            "mean": self.mean,
            "kind": self.kind,
            "correlation": self.correlation,
            "direction": self.direction,
            "by_category": self.by_category,
        }


@dataclass(frozen=True)
class Explanation:
    method: Method
    output: str
    base_value: float
    n_samples: int
    importance: dict[str, float]
    effects: list[FeatureEffect]
    contributions: pd.DataFrame

    def top_features(self, k: int = 5) -> list[str]:
        return list(self.importance)[:k]

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "output": self.output,
            "base_value": self.base_value,
            "n_samples": self.n_samples,
            "importance": self.importance,
            "effects": [e.as_dict() for e in self.effects],
        }

    def evidence_summary(self, k: int = 5) -> dict[str, Any]:
        """The ``explanation`` evidence shape: the top features (and how they were found)."""
        return {
            "top_features": self.top_features(k),
            "method": self.method,
            "output": self.output,
            "importance": {f: self.importance[f] for f in self.top_features(k)},
        }


class Explainer:
    """Per-prediction explanations: ``explain_one(row) -> {input column: contribution}``."""

    def __init__(
        self,
        method: Method,
        output: str,
        columns: list[str],
        dtypes: Mapping[str, Any],
        compute: Any,
        base_value: float,
    ) -> None:
        self.method = method
        self.output = output
        self.columns = columns
        self._dtypes = dict(dtypes)
        self._compute = compute
        self.base_value = base_value

    def frame(self, rows: Any) -> pd.DataFrame:
        """Rows (a DataFrame, a mapping, a Series or a list of mappings) as the model's input."""
        if isinstance(rows, pd.DataFrame):
            frame = rows
        elif isinstance(rows, pd.Series):
            frame = rows.to_frame().T
        elif isinstance(rows, Mapping):
            frame = pd.DataFrame([dict(rows)])
        elif isinstance(rows, list):
            frame = pd.DataFrame(rows)
        else:
            raise ExplainError(
                f"cannot explain a {type(rows).__name__}: expected a mapping, Series or DataFrame"
            )
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise ExplainError(f"row is missing input column(s) {missing}")
        frame = frame[self.columns].reset_index(drop=True)
        try:
            return frame.astype(self._dtypes)
        except (TypeError, ValueError) as exc:
            raise ExplainError(f"row values do not fit the model's input types: {exc}") from exc

    def contributions(self, rows: Any) -> pd.DataFrame:
        """One row of contributions per input row, one column per input column."""
        frame = self.frame(rows)
        values = np.asarray(self._compute(frame), dtype=np.float64)
        return pd.DataFrame(values, columns=self.columns)

    def explain_one(self, row: Any) -> dict[str, float]:
        frame = self.frame(row)
        if len(frame) != 1:
            raise ExplainError(f"explain_one takes one row, got {len(frame)}")
        values = self.contributions(frame).iloc[0]
        return {str(k): float(v) for k, v in values.items()}

    __call__ = explain_one


def _split(model: Any) -> tuple[Any, Any]:
    """``(transform, final estimator)``; ``transform`` is None for a bare estimator."""
    from sklearn.pipeline import Pipeline

    raw = getattr(model, "raw", model)  # a tracking LoadedModel wraps the estimator
    if isinstance(raw, Pipeline):
        return (raw[:-1] if len(raw.steps) > 1 else None), raw.steps[-1][1]
    return None, raw


def _kind(estimator: Any) -> Method:
    module, name = type(estimator).__module__, type(estimator).__name__
    if module.startswith(_TREE_MODULES) and not name.startswith(_NOT_TREES):
        return "tree"
    if module.startswith(_LINEAR_MODULES) and hasattr(estimator, "coef_"):
        return "linear"
    return "permutation"


def _source_map(transform: Any, columns: list[str]) -> list[str]:
    """For each transformed column, the input column it came from."""
    from sklearn.compose import ColumnTransformer

    ct = transform
    if not isinstance(ct, ColumnTransformer):
        steps = getattr(transform, "steps", [])
        ct = next((s for _, s in steps if isinstance(s, ColumnTransformer)), None)
    n_out = len(transform.get_feature_names_out())
    if ct is None:
        if n_out == len(columns):
            return list(columns)
        raise ExplainError("cannot map the pipeline's transformed columns back to its inputs")
    sources: list[str] = []
    for name, trans, cols in ct.transformers_:
        if trans == "drop" or (name == "remainder" and trans == "drop"):
            continue
        cols_list = [
            columns[c] if isinstance(c, int | np.integer) else str(c)
            for c in (cols if isinstance(cols, list | tuple | np.ndarray) else [cols])
        ]
        if not cols_list:
            continue
        if trans == "passthrough":
            sources.extend(cols_list)
            continue
        outs = [str(o) for o in trans.get_feature_names_out(cols_list)]
        if len(outs) == len(cols_list):
            sources.extend(cols_list)
            continue
        for out in outs:
            matches = [c for c in cols_list if out == c or out.startswith(f"{c}_")]
            if not matches:
                raise ExplainError(f"transformed column {out!r} matches no input column")
            sources.append(max(matches, key=len))
    if len(sources) != n_out:
        raise ExplainError(
            f"mapped {len(sources)} transformed columns back, but the pipeline makes {n_out}"
        )
    return sources


def _aggregate(values: np.ndarray[Any, Any], sources: list[str], columns: list[str]) -> Any:
    out = np.zeros((values.shape[0], len(columns)))
    index = {c: i for i, c in enumerate(columns)}
    for j, src in enumerate(sources):
        out[:, index[src]] += values[:, j]
    return out


def _dense(matrix: Any) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = (
        matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix, dtype=np.float64)
    )
    return out


def _positive(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """SHAP values of the positive class when the explainer returns one slice per class."""
    return values[..., 1] if values.ndim == 3 else values


def build_explainer(
    model: Any,
    background: pd.DataFrame,
    *,
    method: Method | None = None,
    sample_budget: int = 200,
    background_size: int = 100,
    seed: int = 0,
) -> Explainer:
    """The explainer for a fitted model (Pipeline or estimator) over input frame ``background``.

    ``sample_budget`` caps the model evaluations per explained row for the permutation method.
    """
    import shap

    if not isinstance(background, pd.DataFrame) or background.empty:
        raise ExplainError("background must be a non-empty DataFrame of the model's input rows")
    if sample_budget < 1:
        raise ExplainError(f"sample_budget {sample_budget!r} is invalid: expected >= 1")
    columns = [str(c) for c in background.columns]
    dtypes = {str(k): v for k, v in background.dtypes.items()}
    bg = background.sample(min(background_size, len(background)), random_state=seed)
    transform, estimator = _split(model)
    chosen = method or _kind(estimator)
    if chosen == "tree" and type(estimator).__module__.startswith("xgboost"):
        return _xgboost(estimator, transform, bg, columns, dtypes)
    if chosen in ("tree", "linear"):
        sources = _source_map(transform, columns) if transform is not None else columns
        z_bg = _dense(transform.transform(bg)) if transform is not None else _dense(bg)
        try:
            inner = (
                shap.TreeExplainer(estimator)
                if chosen == "tree"
                else shap.LinearExplainer(
                    estimator, shap.maskers.Independent(z_bg, max_samples=len(z_bg))
                )
            )
        except Exception as exc:  # shap raises plain exceptions for unsupported models
            raise ExplainError(
                f"{chosen} explainer does not support {type(estimator).__name__}: {exc}"
            ) from exc
        base = np.asarray(inner.expected_value, dtype=np.float64).ravel()
        base_value = float(base[1] if base.size == 2 else base[0])

        def compute(frame: pd.DataFrame) -> Any:
            z = _dense(transform.transform(frame)) if transform is not None else _dense(frame)
            values = _positive(
                np.asarray(inner(z, check_additivity=False).values)
                if chosen == "tree"
                else np.asarray(inner(z).values)
            )
            return _aggregate(values, sources, columns)

        output = output_unit(model, bg, base_value, compute)
        return Explainer(chosen, output, columns, dtypes, compute, base_value)
    return _permutation(model, bg, columns, dtypes, sample_budget, seed)


def output_unit(model: Any, frame: pd.DataFrame, base_value: float, compute: Any) -> str:
    """What the explainer's contributions add up to, checked rather than assumed.

    ``base value + contributions`` is compared row by row with the model's predicted
    probability of the positive class, its log-odds, its decision function (margin) and its
    prediction; the first that matches names the unit. (Tree SHAP explains a random forest's
    probability but a gradient-boosting model's log-odds, so the family alone cannot tell.)
    """
    sample = frame.iloc[: min(len(frame), 25)]
    total = base_value + np.asarray(compute(sample), dtype=np.float64).sum(axis=1)
    candidates: list[tuple[str, Any]] = []
    if hasattr(model, "predict_proba"):
        candidates.append(("probability", lambda: np.asarray(model.predict_proba(sample))[:, -1]))
        candidates.append(
            (
                "log-odds",
                lambda: _logit(np.asarray(model.predict_proba(sample), dtype=np.float64)[:, -1]),
            )
        )
    if hasattr(model, "decision_function"):
        candidates.append(("margin", lambda: np.asarray(model.decision_function(sample))))
    if not hasattr(model, "predict_proba"):
        candidates.append(("prediction", lambda: np.asarray(model.predict(sample))))
    for unit, produce in candidates:
        try:
            expected = np.asarray(produce(), dtype=np.float64).ravel()
        except (ValueError, TypeError, AttributeError):
            continue
        if expected.shape == total.shape and np.allclose(total, expected, rtol=1e-4, atol=1e-4):
            return unit
    return "raw output (not matched to the model's predictions)"


def _logit(p: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    clipped = np.clip(p, 1e-15, 1 - 1e-15)
    out: np.ndarray[Any, Any] = np.log(clipped / (1 - clipped))
    return out


def _xgboost(
    estimator: Any, transform: Any, bg: pd.DataFrame, columns: list[str], dtypes: Any
) -> Explainer:
    """XGBoost's own TreeSHAP (``pred_contribs``): exact in float64 sums, and GPU-capable."""
    import xgboost

    sources = _source_map(transform, columns) if transform is not None else columns
    booster = estimator.get_booster()

    def raw(frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        z = _dense(transform.transform(frame)) if transform is not None else _dense(frame)
        out: np.ndarray[Any, Any] = np.asarray(
            booster.predict(xgboost.DMatrix(z), pred_contribs=True), dtype=np.float64
        )
        return out

    base_value = float(raw(bg.iloc[:1])[0, -1])

    def compute(frame: pd.DataFrame) -> Any:
        return _aggregate(raw(frame)[:, :-1], sources, columns)

    full = estimator if transform is None else _Chain(transform, estimator)
    output = output_unit(full, bg, base_value, compute)
    return Explainer("tree", output, columns, dtypes, compute, base_value)


class _Chain:
    """A transform followed by an estimator, predicting like the Pipeline they came from."""

    def __init__(self, transform: Any, estimator: Any) -> None:
        self.transform, self.estimator = transform, estimator
        if hasattr(estimator, "predict_proba"):
            self.predict_proba = lambda X: estimator.predict_proba(_dense(transform.transform(X)))
        self.predict = lambda X: estimator.predict(_dense(transform.transform(X)))


def _permutation(
    model: Any, bg: pd.DataFrame, columns: list[str], dtypes: Any, budget: int, seed: int
) -> Explainer:
    """Model-agnostic Shapley values by sampled feature permutations (interventional).

    Each permutation walks the columns in a random order, switching the background rows' value
    of one column at a time to the explained row's value; a column's contribution is the change
    in the mean prediction when it switched. Permutations come in antithetic pairs (an order and
    its reverse). Every permutation's contributions add up to ``f(row) - mean f(background)``,
    so the averages do too. ``budget`` caps the coalitions (model calls over the background
    sample) per explained row; one permutation costs ``len(columns) + 1``. Works on the input
    frame as is (categorical columns included) with one batched prediction per row.
    """
    raw = getattr(model, "raw", model)
    has_proba = hasattr(raw, "predict_proba")
    d, m = len(columns), len(bg)
    n_perm = max(2, 2 * (budget // (2 * (d + 1))))
    rng = np.random.default_rng(seed)
    orders: list[np.ndarray[Any, Any]] = []
    for _ in range(n_perm // 2):
        order = rng.permutation(d)
        orders.extend([order, order[::-1]])
    base_rows = bg[columns].reset_index(drop=True)

    def predict(frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        out = raw.predict_proba(frame)[:, 1] if has_proba else raw.predict(frame)
        return np.asarray(out, dtype=np.float64)

    base_value = float(np.mean(predict(base_rows)))

    def explain_row(row: pd.Series[Any]) -> np.ndarray[Any, Any]:
        # coalition k of permutation p: the first k columns of the order take the row's value
        blocks = []
        for order in orders:
            for k in range(d + 1):
                block = base_rows.copy()
                for j in order[:k]:
                    block[columns[j]] = row[columns[j]]
                blocks.append(block)
        preds = predict(pd.concat(blocks, ignore_index=True).astype(dtypes))
        means = preds.reshape(len(orders), d + 1, m).mean(axis=2)
        contrib = np.zeros(d)
        for p, order in enumerate(orders):
            contrib[order] += np.diff(means[p])
        return contrib / len(orders)

    def compute(frame: pd.DataFrame) -> Any:
        return np.vstack([explain_row(frame.iloc[i]) for i in range(len(frame))])

    output = "probability" if has_proba else "prediction"
    return Explainer("permutation", output, columns, dtypes, compute, base_value)


def explain(
    model: Any,
    X: pd.DataFrame,
    *,
    background: pd.DataFrame | None = None,
    method: Method | None = None,
    max_rows: int = 500,
    sample_budget: int = 200,
    seed: int = 0,
) -> tuple[Explanation, Explainer]:
    """Global importance and effect summaries over (a seeded sample of) ``X``, and the explainer."""
    if not isinstance(X, pd.DataFrame) or X.empty:
        raise ExplainError("X must be a non-empty DataFrame of the model's input rows")
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise ExplainError(f"max_rows {max_rows!r} is invalid: expected a positive integer")
    explainer = build_explainer(
        model,
        background if background is not None else X,
        method=method,
        sample_budget=sample_budget,
        seed=seed,
    )
    rows = X.sample(min(max_rows, len(X)), random_state=seed) if len(X) > max_rows else X
    contrib = explainer.contributions(rows)
    importance = contrib.abs().mean().sort_values(ascending=False)
    effects: list[FeatureEffect] = []
    frame = explainer.frame(rows)
    for feature in importance.index:
        values = contrib[feature].to_numpy()
        column = frame[feature]
        if pd.api.types.is_numeric_dtype(column):
            x = column.to_numpy(dtype=np.float64)
            corr = (
                float(np.corrcoef(x, values)[0, 1])
                if np.std(x) > 0 and np.std(values) > 0
                else None
            )
            effects.append(
                FeatureEffect(
                    str(feature),
                    float(np.mean(np.abs(values))),
                    float(np.mean(values)),
                    "numeric",
                    correlation=corr,
                )
            )
        else:
            by_cat = (
                pd.Series(values)
                .groupby(column.astype("string").fillna("<missing>").to_numpy())
                .mean()
                .sort_values(ascending=False)
            )
            effects.append(
                FeatureEffect(
                    str(feature),
                    float(np.mean(np.abs(values))),
                    float(np.mean(values)),
                    "categorical",
                    by_category={str(k): float(v) for k, v in by_cat.items()},
                )
            )
    explanation = Explanation(
        method=explainer.method,
        output=explainer.output,
        base_value=explainer.base_value,
        n_samples=len(rows),
        importance={str(k): float(v) for k, v in importance.items()},
        effects=effects,
        contributions=contrib,
    )
    return explanation, explainer
