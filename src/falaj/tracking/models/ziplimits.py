"""Reading zip archives without trusting what they claim: no zip bombs.

A model archive (and the skops file inside a scikit-learn model) is a zip. A 1 MB archive can
declare a 1 GiB member that deflates from almost nothing; reading it whole would allocate it
all before anything could refuse it. Here, before any member is read:

- the total declared size is capped (``MAX_TOTAL``);
- a member may expand to at most ``MAX_RATIO`` times its compressed size, unless it is small
  (under ``SMALL``): ordinary model files compress 2-10x, a bomb 1000x;

and each member is then read in chunks, stopping as soon as it yields more than it declared.
"""

from __future__ import annotations

import zipfile
import zlib

from falaj.errors import IntegrityError, preview

__all__ = ["MAX_RATIO", "MAX_TOTAL", "SMALL", "check_archive", "read_member"]

MAX_TOTAL = 8 * 1024**3
MAX_RATIO = 100
SMALL = 64 * 1024**2
_CHUNK = 1024 * 1024


def check_archive(archive: zipfile.ZipFile, *, what: str) -> None:
    """Refuse ``archive`` when its declared sizes or compression ratios are implausible."""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if total > MAX_TOTAL:
            raise IntegrityError(
                f"{what} declares more than {MAX_TOTAL:,} bytes of content; refused unread"
            )
        if info.file_size > SMALL and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise IntegrityError(
                f"{what}: member {preview(info.filename)} declares {info.file_size:,} bytes "
                f"from {info.compress_size:,} compressed (over {MAX_RATIO}:1); refused as a "
                "zip bomb, unread"
            )


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, what: str) -> bytes:
    """The bytes of one member, read in chunks and never more than it declared."""
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > info.file_size:
                    raise IntegrityError(
                        f"{what}: member {preview(info.filename)} holds more than the "
                        f"{info.file_size:,} bytes it declares"
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise IntegrityError(
            f"{what}: member {preview(info.filename)} is corrupt ({preview(str(exc), 120)})"
        ) from exc
    return b"".join(chunks)
