"""Datasets a step reads by name: resolved when the step runs, and part of its cache key.

A step that calls ``ctx.load_dataset("credit")`` reads whatever version is the latest *when it
runs*. Its static cache key (code, parameters, input digests, outputs) cannot know that, so
the recorded key folds in the versions read::

    key = sha256(static key, {"credit": "credit@3", ...})       # :func:`with_datasets`

and the step run is filed under both keys: the static key points at the most recent such step
run (a *probe*: it tells the next run which names to resolve), the full key at the result. On
the next run the cache resolves those names again; a new version registered since gives another
full key, a miss, and the step runs. Reads of a pinned version (``"credit@3"``) are ordinary
inputs: they never change, so they are linked in lineage but add nothing to the key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Protocol

__all__ = ["READ", "DatasetLookup", "reads_of", "with_datasets"]

#: lineage relation of a by-name read: ``dataset_version -[read]-> step_run``
READ = "read"


class DatasetLookup(Protocol):
    """What the cache needs from the data capability: the version a name resolves to now."""

    def latest_id(self, name: str) -> str | None: ...


def with_datasets(static_key: str, reads: Mapping[str, str]) -> str:
    """The cache key of a step run that read ``reads`` (dataset name -> version id)."""
    if not reads:
        return static_key
    text = json.dumps({"key": static_key, "datasets": dict(sorted(reads.items()))})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def reads_of(links: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """``{name: version id}`` of the by-name dataset reads among a step's lineage links."""
    return {
        node_id.rpartition("@")[0]: node_id
        for direction, kind, node_id in links
        if direction == READ and kind == "dataset_version"
    }


def current_reads(names: Iterable[str], lookup: DatasetLookup) -> dict[str, str] | None:
    """The versions ``names`` resolve to now; None when one no longer exists."""
    out: dict[str, str] = {}
    for name in names:
        found = lookup.latest_id(name)
        if found is None:
            return None
        out[name] = found
    return out
