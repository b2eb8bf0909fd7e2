"""Which data an evaluation ran on, and whether it is the model's own training data.

An evaluation names its data: the registered dataset version (id and content digest) when there
is one, else the digest of the rows it was given. It is **in-sample** when

- the dataset version is one of the model's training inputs (lineage ``dataset_version -> run``
  with relation ``input``, the run that produced the version), or has the same content digest;
- or at least :data:`IN_SAMPLE_SHARE` of its rows also occur, by content, in the training
  rows: those a search recorded on its run (``falaj.training_rows``, the row hashes of the
  frame it was given, which may be a split of its dataset), else those of the training dataset
  versions.

Rows are compared on the columns both sides have, by value (numbers as float64, everything else
as text), so a CSV export of the training data is recognised as well as the dataset itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "IN_SAMPLE_SHARE",
    "ROWS_TAG",
    "EvaluationData",
    "judge_evaluation_data",
    "record_training_rows",
    "row_hashes",
]

#: Share of evaluation rows found among the training rows at which an evaluation is in-sample.
IN_SAMPLE_SHARE = 0.5
#: Run tag holding the artifact digest of a search's training row hashes.
ROWS_TAG = "falaj.training_rows"
_COLUMNS_TAG = "falaj.training_columns"


@dataclass(frozen=True)
class EvaluationData:
    """What an evaluation ran on and how it relates to the model's training data."""

    dataset_id: str | None
    content_digest: str
    rows: int
    in_sample: bool
    reason: str | None
    overlap_rows: int
    training_inputs: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.dataset_id,
            "content_digest": self.content_digest,
            "rows": self.rows,
            "overlap_rows": self.overlap_rows,
            "training_inputs": list(self.training_inputs),
        }

    def summary_fields(self) -> dict[str, Any]:
        """The fields an evaluation's evidence summary carries."""
        return {
            "dataset": self.as_dict(),
            "in_sample": self.in_sample,
            "in_sample_reason": self.reason,
        }


def _normalized(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out: dict[str, pd.Series[Any]] = {}
    for c in columns:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            out[c] = pd.to_numeric(s, errors="coerce").astype("float64")
        else:
            out[c] = s.astype("string").fillna("\x00<NA>")
    return pd.DataFrame(out)


def row_hashes(frame: pd.DataFrame, columns: Iterable[str]) -> np.ndarray[Any, Any]:
    """One uint64 per row of ``frame`` over ``columns`` (sorted by name), by value."""
    cols = sorted(columns)
    if not cols:
        return np.zeros(0, dtype=np.uint64)
    hashed = pd.util.hash_pandas_object(_normalized(frame, cols), index=False)
    return np.asarray(hashed.to_numpy(), dtype=np.uint64)


def frame_digest(frame: pd.DataFrame) -> str:
    """sha256 over a frame's column names and row hashes (for frames that are not registered)."""
    h = hashlib.sha256(json.dumps(sorted(map(str, frame.columns))).encode())
    h.update(row_hashes(frame, [str(c) for c in frame.columns]).tobytes())
    return h.hexdigest()


def record_training_rows(ws: Any, run: Any, X: pd.DataFrame) -> None:
    """Store the row hashes of a search's training frame and name them on its run."""
    columns = [str(c) for c in X.columns]
    hashes = np.unique(row_hashes(X, columns))
    info = ws.artifacts.put_bytes(hashes.tobytes(), media_type="application/octet-stream")
    run.set_tags({ROWS_TAG: info.digest, _COLUMNS_TAG: json.dumps(sorted(columns))})


def _training_inputs(ws: Any, mv: Any) -> list[str]:
    from falaj.lineage.graph import Node

    edges = ws.lineage.upstream(Node("model_version", f"{mv.name}/{mv.version}"), max_depth=2)
    runs = {e.source.id for e in edges if e.source.kind == "run" and e.relation == "produced"}
    return sorted(
        {
            e.source.id
            for e in edges
            if e.source.kind == "dataset_version"
            and e.relation == "input"
            and e.target.kind == "run"
            and e.target.id in runs
        }
    )


def _overlap(eval_frame: pd.DataFrame, train_frame: pd.DataFrame) -> int:
    shared = [c for c in eval_frame.columns if c in set(train_frame.columns)]
    if not shared:
        return 0
    train = np.unique(row_hashes(train_frame, shared))
    return int(np.isin(row_hashes(eval_frame, shared), train).sum())


def judge_evaluation_data(
    ws: Any, mv: Any, X: pd.DataFrame, dataset_version_id: str | None
) -> EvaluationData:
    """Name the data of an evaluation of ``mv`` on ``X`` and judge whether it is in-sample."""
    datasets = getattr(ws, "datasets", None)
    dataset = datasets.get(dataset_version_id) if dataset_version_id and datasets else None
    digest = dataset.content_digest if dataset is not None else frame_digest(X)
    inputs = _training_inputs(ws, mv)
    reason: str | None = None
    overlap = 0
    X_cols = [str(c) for c in X.columns]
    frame = X.set_axis(X_cols, axis=1)
    recorded = _recorded_rows(ws, mv, frame)
    for ds_id in inputs:
        if datasets is None:
            break
        train = datasets.get(ds_id)
        if dataset is not None and ds_id == dataset.id:
            reason = f"{ds_id} is the model's training input"
        elif train.content_digest == digest:
            reason = f"it has the content of the model's training input {ds_id}"
        if reason is None and recorded is None:
            overlap = max(overlap, _overlap(frame, datasets.load(ds_id)))
    if recorded is not None:  # the exact rows the search trained on (a split of its dataset)
        overlap = recorded
    if reason is None and len(frame) and overlap / len(frame) >= IN_SAMPLE_SHARE:
        where = ", ".join(inputs) or "the search's training frame"
        reason = (
            f"{overlap} of its {len(frame)} rows ({overlap / len(frame):.0%}) are training rows "
            f"of the model ({where})"
        )
    return EvaluationData(
        dataset_id=dataset.id if dataset is not None else None,
        content_digest=digest,
        rows=len(frame),
        in_sample=reason is not None,
        reason=reason,
        overlap_rows=len(frame) if reason is not None and overlap == 0 else overlap,
        training_inputs=tuple(inputs),
    )


def _recorded_rows(ws: Any, mv: Any, frame: pd.DataFrame) -> int | None:
    """Evaluation rows found among the row hashes a search recorded on the version's run."""
    if not mv.run_id:
        return None
    from falaj.errors import FalajError

    try:
        tags = ws.tracking.get_run(mv.run_id).tags
    except FalajError:  # a run that cannot be read recorded nothing to compare with
        return None
    digest, columns = tags.get(ROWS_TAG), tags.get(_COLUMNS_TAG)
    if not digest or not columns:
        return None
    names = json.loads(columns)
    if not set(names) <= set(frame.columns):
        return None
    train = np.frombuffer(ws.artifacts.get_bytes(digest), dtype=np.uint64)
    return int(np.isin(row_hashes(frame, names), train).sum())
