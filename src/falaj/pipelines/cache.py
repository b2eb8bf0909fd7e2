"""Cache keys: a step is skipped when its code, parameters and input digests match."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["CACHE_KEY_VERSION", "cache_key"]

#: bump when the key's recipe changes, so old entries stop matching.
CACHE_KEY_VERSION = 1


def cache_key(
    function: str,
    code_hash: str,
    params: Mapping[str, Any],
    input_digests: Mapping[str, str],
    outputs: tuple[str, ...],
) -> str:
    """sha256 over the step's function name, source hash, parameters and input digests."""
    payload = {
        "v": CACHE_KEY_VERSION,
        "function": function,
        "code": code_hash,
        "params": params,
        "inputs": dict(sorted(input_digests.items())),
        "outputs": list(outputs),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
