"""Secret key files in the workspace: created once, mode 0600, never overwritten.

Two processes opening a new workspace at once must end up with the same key: the file is
written under a temporary name and linked into place (``os.link`` fails if the name is taken),
so the loser reads the winner's key.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from falaj.errors import ConfigError

__all__ = ["KEYS_DIR", "read_key_file", "read_or_create_key_file"]

#: the folder under the workspace home holding its key files
KEYS_DIR = "keys"


def read_key_file(path: Path) -> bytes:
    """The bytes of an existing key file; a key readable by others is refused."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"key file {path} cannot be read: {exc.strerror}") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"key file {path} is readable by other users (mode {stat.S_IMODE(mode):o}); "
            f"run `chmod 600 {path}`"
        )
    if not data:
        raise ConfigError(f"key file {path} is empty")
    return data


def read_or_create_key_file(path: Path, *, size: int = 32, content: bytes | None = None) -> bytes:
    """The key in ``path``, created (``size`` random bytes, or ``content``) with mode 0600 if
    the file does not exist yet."""
    if path.exists():
        return read_key_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        path.parent.chmod(0o700)
    data = content if content is not None else secrets.token_bytes(size)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race: use theirs
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return read_key_file(path)
