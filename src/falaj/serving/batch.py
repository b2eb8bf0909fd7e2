"""Batch scoring: a Parquet file through a deployment's stable revision, chunk by chunk.

Memory stays bounded by ``chunk_rows``: the input is read in record batches, each batch is
validated against the signature and predicted, and the scored batch (the input columns plus
``prediction`` and, for classifiers, ``proba_<class>``) is appended to the output file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from falaj.errors import InvalidInputError, NotFoundError
from falaj.serving.replica import PlannedRevision
from falaj.serving.router import Target
from falaj.serving.sources import load_runtime

if TYPE_CHECKING:
    from falaj.serving.service import ServingService

__all__ = ["ScoreResult", "score_parquet"]


@dataclass(frozen=True)
class ScoreResult:
    rows: int
    chunks: int
    model: str
    revision: str
    output: Path


def score_parquet(
    serving: ServingService,
    deployment: str,
    source: str | Path,
    output: str | Path,
    *,
    chunk_rows: int = 50_000,
    trusted: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ScoreResult:
    """Score ``source`` with the deployment's revision taking the most traffic."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if chunk_rows < 1:
        raise InvalidInputError(f"chunk_rows {chunk_rows} is invalid: expected 1 or more")
    src, dst = Path(source), Path(output)
    if not src.is_file():
        raise NotFoundError(f"input file {src} does not exist")
    if dst.resolve() == src.resolve():
        raise InvalidInputError("the output file must not be the input file")
    dep = serving.get_deployment(deployment)
    best = max(dep.serving, key=lambda r: r.weight)
    runtime = load_runtime(
        serving.links.catalog(),
        PlannedRevision(
            Target(best.id, best.weight), best.model_name, best.model_version, best.artifact_digest
        ),
        trusted=trusted,
    )
    try:
        reader = pq.ParquetFile(src)
    except (OSError, pa.ArrowInvalid) as exc:
        raise InvalidInputError(f"input file {src} is not a readable Parquet file: {exc}") from exc
    total = reader.metadata.num_rows
    done = chunks = 0
    writer: pq.ParquetWriter | None = None
    tmp = dst.with_name(dst.name + ".partial")
    try:
        for batch in reader.iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            records = frame.to_dict("list")
            inputs = runtime.frame_from_v2(
                [{"name": str(k), "data": v} for k, v in records.items()]
            )
            answer = runtime.infer(inputs)
            scored = frame.copy()
            scored["prediction"] = answer.predict
            if answer.proba is not None:
                classes = _classes(runtime.model, answer.proba.shape[1])
                for i, label in enumerate(classes):
                    scored[f"proba_{label}"] = answer.proba[:, i]
            table = pa.Table.from_pandas(scored, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
            done += len(frame)
            chunks += 1
            if progress is not None:
                progress(done, total)
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    if writer is None:
        raise InvalidInputError(f"input file {src} has no rows")
    writer.close()
    tmp.replace(dst)
    return ScoreResult(done, chunks, f"{best.model_name}/{best.model_version}", best.id, dst)


def _classes(model: object, count: int) -> list[str]:
    raw = getattr(model, "raw", None)
    labels = getattr(raw, "classes_", None)
    if labels is not None and len(labels) == count:
        return [str(c) for c in labels]
    return [str(i) for i in range(count)]
