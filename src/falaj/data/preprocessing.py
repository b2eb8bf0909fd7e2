"""Feature engineering without training/serving skew.

:func:`build_preprocessor` returns an unfitted scikit-learn ``ColumnTransformer`` inferred from
the data's schema (and the dataset's classifications): numbers are imputed (median) and scaled,
categories imputed (most frequent) and one-hot encoded with ``handle_unknown="ignore"`` so an
unseen category at serving time becomes all zeros instead of an error. Put it as the first step
of the model's ``Pipeline``; the fitted pipeline is what gets logged, registered and served, so
the very same transformation runs at training and at serving time and is never written twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from falaj.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FeatureColumns", "build_preprocessor", "feature_columns"]

#: classification labels whose columns never become features unless asked for explicitly
EXCLUDED_LABELS = ("pii", "identifier")


class FeatureColumns:
    """Which columns are numeric and which categorical, and which were left out (and why)."""

    def __init__(self, numeric: list[str], categorical: list[str], dropped: dict[str, str]) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.dropped = dropped

    def __repr__(self) -> str:
        return (
            f"FeatureColumns(numeric={self.numeric}, categorical={self.categorical}, "
            f"dropped={self.dropped})"
        )


def feature_columns(
    df: pd.DataFrame,
    *,
    target: str,
    classifications: dict[str, list[str]] | None = None,
    exclude: Iterable[str] = (),
    include_sensitive: bool = True,
    max_categories: int = 50,
) -> FeatureColumns:
    """Split ``df``'s columns into numeric and categorical features."""
    from pandas.api import types as pt

    if target not in df.columns:
        raise InvalidInputError(
            f"target column {target!r} is not in the data (columns: {list(df.columns)})"
        )
    excluded = set(exclude)
    unknown = excluded - set(df.columns)
    if unknown:
        raise InvalidInputError(f"exclude names columns {sorted(unknown)} the data does not have")
    labels = classifications or {}
    numeric: list[str] = []
    categorical: list[str] = []
    dropped: dict[str, str] = {}
    for column in df.columns:
        tags = set(labels.get(column, []))
        series = df[column]
        if column == target:
            continue
        if column in excluded:
            dropped[column] = "excluded by the caller"
        elif tags & set(EXCLUDED_LABELS):
            dropped[column] = f"classified {sorted(tags & set(EXCLUDED_LABELS))}"
        elif "sensitive" in tags and not include_sensitive:
            dropped[column] = "classified sensitive"
        elif pt.is_bool_dtype(series):
            categorical.append(column)
        elif pt.is_numeric_dtype(series):
            numeric.append(column)
        elif pt.is_datetime64_any_dtype(series) or pt.is_timedelta64_dtype(series):
            dropped[column] = "timestamps need explicit features (e.g. age in days)"
        elif series.nunique(dropna=True) > max_categories:
            dropped[column] = f"more than {max_categories} categories (an identifier or free text?)"
        else:
            categorical.append(column)
    if not numeric and not categorical:
        raise InvalidInputError(
            f"no feature columns are left besides target {target!r} (dropped: {dropped})"
        )
    return FeatureColumns(numeric, categorical, dropped)


def build_preprocessor(
    df: pd.DataFrame,
    *,
    target: str,
    classifications: dict[str, list[str]] | None = None,
    exclude: Iterable[str] = (),
    include_sensitive: bool = True,
    scale: bool = True,
    max_categories: int = 50,
) -> Any:
    """An unfitted ``ColumnTransformer`` for ``df``'s features (everything but ``target``).

    Columns classified ``pii`` or ``identifier`` are left out; ``include_sensitive=False``
    also leaves out ``sensitive`` ones (keep them in the data for the fairness audit).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cols = feature_columns(
        df,
        target=target,
        classifications=classifications,
        exclude=exclude,
        include_sensitive=include_sensitive,
        max_categories=max_categories,
    )
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    categorical_steps: list[tuple[str, Any]] = [
        ("impute", SimpleImputer(strategy="most_frequent")),
        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
    ]
    transformers: list[tuple[str, Any, list[str]]] = []
    if cols.numeric:
        transformers.append(("numeric", Pipeline(numeric_steps), cols.numeric))
    if cols.categorical:
        transformers.append(("categorical", Pipeline(categorical_steps), cols.categorical))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=True)
