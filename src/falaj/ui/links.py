"""Where each kind of thing has its page: one place, so every link is the same stable URL."""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["node_href"]


def node_href(base: str, kind: str, ident: str) -> str | None:
    """The UI page of a lineage node / entity, or None when it has none."""
    if kind == "dataset_version":
        name, _, version = ident.rpartition("@")
        if name and version.isdigit():
            return f"{base}/datasets/{quote(name, safe='')}?version={version}"
        return None
    if kind == "dataset":
        return f"{base}/datasets/{quote(ident, safe='')}"
    if kind == "run":
        return f"{base}/runs/{quote(ident, safe='')}"
    if kind == "model_version":
        name, _, version = ident.rpartition("/")
        if name and version.isdigit():
            return f"{base}/models/{quote(name, safe='')}/versions/{version}"
        return None
    if kind == "model":
        return f"{base}/models/{quote(ident, safe='')}"
    if kind == "deployment":
        return f"{base}/deployments/{quote(ident, safe='')}"
    if kind == "artifact":
        return f"{base}/artifacts/{quote(ident, safe='')}"
    return None
