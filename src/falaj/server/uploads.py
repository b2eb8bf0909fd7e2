"""Streaming request bodies to a temporary file, and files back out, in chunks.

Uploads never sit whole in memory: chunks go to a temporary file as they arrive (the body limit
middleware counts them), the service then stores the file, and the file is removed whatever
happens. Artifact names are checked before a byte is read: no absolute paths, no ``..``, no
backslashes or control characters.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import BinaryIO

import anyio

from falaj.errors import InvalidInputError

__all__ = ["check_artifact_name", "iter_file", "spool"]

_CHUNK = 1 << 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")


def check_artifact_name(name: str) -> str:
    """A relative, normalized artifact path (``plots/roc.png``), or a clear refusal."""
    if not isinstance(name, str) or not name or len(name) > 500:
        raise InvalidInputError(
            f"artifact name {str(name)[:80]!r} is invalid: expected 1-500 characters"
        )
    parts = name.split("/")
    if (
        name.startswith("/")
        or _CONTROL.search(name)
        or any(p in ("", ".", "..") for p in parts)
        or re.match(r"^[A-Za-z]:", name)
    ):
        raise InvalidInputError(
            f"artifact name {name[:80]!r} is invalid: expected a relative path of non-empty "
            "segments, without '..', '.', a leading '/', a drive or backslashes"
        )
    return name


async def spool(stream: AsyncIterator[bytes], suffix: str = "") -> Path:
    """Write ``stream`` to a new temporary file; the caller removes it."""
    fd, name = tempfile.mkstemp(prefix="falaj-upload-", suffix=suffix)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in stream:
                if chunk:
                    await anyio.to_thread.run_sync(out.write, chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def iter_file(handle: BinaryIO) -> Iterator[bytes]:
    """Chunks of an open object, closing it at the end."""
    try:
        while chunk := handle.read(_CHUNK):
            yield chunk
    finally:
        handle.close()
