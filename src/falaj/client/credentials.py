"""Where ``falaj login`` keeps tokens: ``~/.config/falaj/credentials.json`` (mode 0600), one
token per server URL. ``$FALAJ_CREDENTIALS`` names another file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from falaj.errors import ConfigError

__all__ = ["credentials_file", "forget_token", "load_token", "save_token"]


def credentials_file() -> Path:
    override = os.environ.get("FALAJ_CREDENTIALS")
    if override:
        return Path(override).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "falaj" / "credentials.json"


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"credentials file {path} is unreadable: {exc}") from exc
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def load_token(url: str) -> str | None:
    return _read(credentials_file()).get(url.rstrip("/"))


def save_token(url: str, token: str) -> Path:
    """Store ``token`` for ``url``; the file is created 0600 and rewritten atomically."""
    path = credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = _read(path)
    data[url.rstrip("/")] = token
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2)
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def forget_token(url: str) -> bool:
    path = credentials_file()
    data = _read(path)
    if data.pop(url.rstrip("/"), None) is None:
        return False
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2)
    return True
