"""Reference sketches: computed once per (dataset content, columns, model version), cached.

The sketch's bytes are an artifact (content-addressed, verified on read); ``reference_sketches``
maps the cache key to its digest. With ``with_prediction`` the model version's predictions on
the reference are sketched too (column ``__prediction__``), for prediction drift.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import sqlalchemy as sa

from falaj.monitoring.sketch import DEFAULT_BINS, FORMAT, ReferenceSketch, build_sketch
from falaj.monitoring.tables import reference_sketches
from falaj.store.metadata_store import MetadataStore
from falaj.store.schema import utcnow

if TYPE_CHECKING:
    from falaj.monitoring.ports import MonitoringLinks
    from falaj.registry.models import ModelVersion

__all__ = ["PREDICTION", "reference_sketch"]

PREDICTION = "__prediction__"


def reference_sketch(
    store: MetadataStore,
    links: MonitoringLinks,
    mv: ModelVersion,
    ref_id: str,
    columns: list[str],
    with_prediction: bool,
) -> ReferenceSketch:
    """The cached sketch, or a new one (computed, stored, indexed)."""
    datasets = links.datasets()
    version = datasets.get(ref_id)
    columns = [c for c in columns if c in version.columns]
    model_part = f"{mv.name}/{mv.version}" if with_prediction else ""
    key = hashlib.sha256(
        json.dumps([FORMAT, DEFAULT_BINS, version.content_digest, columns, model_part]).encode()
    ).hexdigest()
    with store.read() as conn:
        digest = conn.execute(
            sa.select(reference_sketches.c.digest).where(reference_sketches.c.key == key)
        ).scalar_one_or_none()
    if digest is not None:
        return ReferenceSketch.from_bytes(links.artifacts.get_bytes(digest))
    frame = datasets.load(version.name, version.version)
    chosen = list(columns)
    if with_prediction:
        loaded = links.registry().load_model(mv.name, mv.version)
        inputs = list(getattr(loaded, "input_columns", None) or columns)
        if set(inputs) <= set(frame.columns):  # else: the reference cannot be scored
            frame = frame.assign(**{PREDICTION: list(loaded.predict(frame[inputs]))})
            chosen.append(PREDICTION)
    sketch = build_sketch(frame, reference=version.id, columns=chosen)
    info = links.artifacts.put_bytes(sketch.to_bytes(), media_type="application/json")
    with store.transaction() as conn:
        exists = conn.execute(
            sa.select(reference_sketches.c.key).where(reference_sketches.c.key == key)
        ).first()
        if exists is None:
            conn.execute(
                sa.insert(reference_sketches).values(
                    key=key, reference=version.id, digest=info.digest, created_at=utcnow()
                )
            )
    return sketch
