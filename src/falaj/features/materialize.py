"""Filling the online store: the latest value per entity as of ``end``, streamed in batches.

The query mirrors the offline join at ``t = end``: rows with ``event <= end`` (and
``created <= end``), the greatest ``(event, created)`` per entity, older than ``end - ttl``
skipped (they would read as stale). Incremental runs read only rows that are new since the
view's watermark (``event > watermark`` or ``created > watermark``), so a late-arriving row is
picked up; the store keeps the newer event time, so a late *older* row never overwrites.

Keys, event times and JSON payloads are built inside DuckDB and fetched ``batch_rows`` at a time
(bounded memory whatever the source's size). A run that dies part way leaves the watermark where
it was: running again rewrites the same rows (the store's upsert is idempotent), so it resumes.
"""

from __future__ import annotations

import datetime as dt
import tempfile

from falaj.features.keys import key_sql
from falaj.features.online.base import OnlineStore
from falaj.features.sql import ViewInput, connect, q, source_select

__all__ = ["materialize_view"]


def _value_sql(feature: str, ftype: str) -> str:
    col = q(feature)
    if ftype.startswith("float"):  # JSON has no NaN or infinity: they read as missing
        return f"CASE WHEN isfinite({col}) THEN {col} END"
    return col


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def materialize_view(
    src: ViewInput,
    store: OnlineStore,
    *,
    end: dt.datetime,
    since: dt.datetime | None = None,
    batch_rows: int = 50_000,
    memory_limit: str | None = None,
) -> int:
    """Write the latest values of ``src`` as of ``end`` (new since ``since``); rows written."""
    view = src.view
    features = list(view.features)
    conds = [f"__ts <= TIMESTAMPTZ '{_iso(end)}'"]
    has_created = view.created_timestamp is not None
    if has_created:
        conds.append(f"coalesce(__cr, __ts) <= TIMESTAMPTZ '{_iso(end)}'")
    if view.ttl_seconds is not None:
        conds.append(f"__ts >= TIMESTAMPTZ '{_iso(end)}' - to_seconds({view.ttl_seconds})")
    if since is not None:
        wm = f"TIMESTAMPTZ '{_iso(since)}'"
        conds.append(
            f"(__ts > {wm} OR coalesce(__cr, __ts) > {wm})" if has_created else f"__ts > {wm}"
        )
    base = source_select(src, features, " AND ".join(conds))
    keys = ", ".join(q(k) for k in src.join_keys)
    order = "__ts DESC, __cr DESC" if has_created else "__ts DESC"
    payload = ", ".join(f"{q(f)} := {_value_sql(f, view.features[f])}" for f in features)
    sql = (
        f"SELECT {key_sql(src.join_keys)} AS k, epoch(__ts) AS t, "
        f"encode(to_json(struct_pack({payload}))) AS p FROM ({base}) "
        f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY {order}) = 1"
    )
    spill = tempfile.TemporaryDirectory(prefix="falaj-duckdb-")
    con = connect(memory_limit=memory_limit, spill_dir=spill.name)
    written = 0
    try:
        reader = con.sql(sql).to_arrow_reader(batch_rows)
        for batch in reader:
            rows = list(
                zip(
                    batch.column(0).to_pylist(),
                    batch.column(1).to_pylist(),
                    batch.column(2).to_pylist(),
                    strict=True,
                )
            )
            written += store.write(view.name, rows)
    finally:
        con.close()
        spill.cleanup()
    return written
