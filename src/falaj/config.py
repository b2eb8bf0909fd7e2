"""Immutable settings, resolved in layers: defaults < ``falaj.toml`` < ``FALAJ_*`` env < arguments.

The TOML file is found at the explicit ``config_file`` argument, else ``$FALAJ_CONFIG``, else
``<home>/falaj.toml`` (when it exists). Every key is declared once in :data:`FIELDS`; an unknown key
or a malformed value is a :class:`~falaj.errors.ConfigError` that names the key and its source.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from falaj.errors import ConfigError

__all__ = ["FIELDS", "SettingField", "Settings"]

ENV_PREFIX = "FALAJ_"
#: Environment variables that start with FALAJ_ but are not settings.
_NON_SETTING_ENV = ("FALAJ_CONFIG", "FALAJ_TEST_", "FALAJ_BENCH_")
_LOG_FORMATS = ("text", "json")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_SQLITE_SYNCHRONOUS = ("FULL", "NORMAL")


def _parse_str(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value.strip()


def _parse_optional_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _parse_str(value)


def _parse_path(value: Any) -> Path:
    if isinstance(value, Path):
        return value.expanduser().absolute()
    return Path(_parse_str(value)).expanduser().absolute()


def _parse_choice(choices: tuple[str, ...], *, upper: bool = False) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _parse_str(value)
        text = text.upper() if upper else text.lower()
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return text

    return parse


def _parse_region(value: Any) -> str:
    text = _parse_str(value)
    if not all(c.isalnum() or c in "-_" for c in text):
        raise ValueError("expected letters, digits, '-' or '_' (e.g. 'ae-dubai-1')")
    return text


def _parse_positive_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a positive integer")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError("expected a positive integer") from None
    if number <= 0 or (isinstance(value, float) and value != number):
        raise ValueError("expected a positive integer")
    return number


@dataclass(frozen=True)
class SettingField:
    """One declared setting: its parser and a one-line description for ``falaj info``."""

    name: str
    parse: Callable[[Any], Any]
    help: str

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()


FIELDS: dict[str, SettingField] = {
    f.name: f
    for f in (
        SettingField("home", _parse_path, "workspace folder (embedded DB and artifacts live here)"),
        SettingField("db_url", _parse_optional_str, "metadata DB URL (default: SQLite in home)"),
        SettingField("artifact_uri", _parse_optional_str, "artifact store URI (default: home)"),
        SettingField("region", _parse_region, "data-residency region of this workspace"),
        SettingField("log_format", _parse_choice(_LOG_FORMATS), "log format: text or json"),
        SettingField("log_level", _parse_choice(_LOG_LEVELS, upper=True), "log level"),
        SettingField("ray_address", _parse_optional_str, "Ray cluster address (ray://...)"),
        SettingField("redis_url", _parse_optional_str, "Redis URL for the online store"),
        SettingField("tracking_batch_size", _parse_positive_int, "rows per tracking flush"),
        SettingField(
            "sqlite_synchronous",
            _parse_choice(_SQLITE_SYNCHRONOUS, upper=True),
            "embedded SQLite durability: FULL (survives power loss) or NORMAL (faster)",
        ),
    )
}


def _default_home() -> Path:
    return Path("~/.falaj").expanduser().absolute()


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one workspace. Immutable; build with :meth:`load`."""

    home: Path = field(default_factory=_default_home)
    db_url: str | None = None
    artifact_uri: str | None = None
    region: str = "local"
    log_format: str = "text"
    log_level: str = "INFO"
    ray_address: str | None = None
    redis_url: str | None = None
    tracking_batch_size: int = 1000
    sqlite_synchronous: str = "FULL"
    #: where each value came from: "default", a file path, an env var name, or "argument".
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def metadata_url(self) -> str:
        """The effective metadata DB URL (SQLite inside ``home`` unless set)."""
        return self.db_url or f"sqlite:///{self.home / 'falaj.db'}"

    @property
    def artifacts_url(self) -> str:
        """The effective artifact store URI (a folder inside ``home`` unless set)."""
        return self.artifact_uri or (self.home / "artifacts").as_uri()

    @property
    def config_path(self) -> Path:
        return self.home / "falaj.toml"

    @property
    def is_embedded(self) -> bool:
        """True when the metadata DB is SQLite (the laptop default)."""
        return self.metadata_url.startswith("sqlite")

    def replace(self, **overrides: Any) -> Settings:
        """A copy with ``overrides`` applied as explicit arguments (validated)."""
        values = {name: getattr(self, name) for name in FIELDS}
        sources = dict(self.sources)
        for key, raw in overrides.items():
            values[key] = _parse_field(key, raw, "argument")
            sources[key] = "argument"
        return Settings(**values, sources=sources)

    @classmethod
    def load(
        cls,
        *,
        config_file: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Resolve settings: defaults < TOML file < ``FALAJ_*`` env < keyword ``overrides``."""
        environ = os.environ if env is None else env
        values: dict[str, Any] = {
            f.name: getattr(cls, f.name, None) for f in FIELDS.values() if f.name != "home"
        }
        values["home"] = _default_home()
        sources = dict.fromkeys(FIELDS, "default")

        env_values = _read_env(environ)
        arg_values = {k: _parse_field(k, v, "argument") for k, v in overrides.items()}

        # The file location depends on home, which env or arguments may set.
        home = arg_values.get("home", env_values.get("home", values["home"]))
        path = _config_file_path(config_file, environ, home)
        if path is not None:
            for key, value in _read_toml(path).items():
                values[key] = value
                sources[key] = str(path)
        for key, value in env_values.items():
            values[key] = value
            sources[key] = FIELDS[key].env_var
        for key, value in arg_values.items():
            values[key] = value
            sources[key] = "argument"
        return cls(**values, sources=sources)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name in FIELDS}


def _parse_field(key: str, raw: Any, source: str) -> Any:
    spec = FIELDS.get(key)
    if spec is None:
        known = ", ".join(sorted(FIELDS))
        raise ConfigError(f"unknown setting {key!r} in {source} (known settings: {known})")
    try:
        return spec.parse(raw)
    except ValueError as exc:
        raise ConfigError(f"setting {key!r} from {source}: got {raw!r}, {exc}") from None


def _read_env(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for var, raw in environ.items():
        if not var.startswith(ENV_PREFIX) or var.startswith(_NON_SETTING_ENV):
            continue
        key = var[len(ENV_PREFIX) :].lower()
        if key not in FIELDS:
            known = ", ".join(sorted(f.env_var for f in FIELDS.values()))
            raise ConfigError(
                f"unknown setting in environment variable {var} (known variables: {known})"
            )
        out[key] = _parse_field(key, raw, f"environment variable {var}")
    return out


def _config_file_path(
    explicit: str | Path | None, environ: Mapping[str, str], home: Path
) -> Path | None:
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        return path
    if environ.get("FALAJ_CONFIG"):
        path = Path(environ["FALAJ_CONFIG"]).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file {path} (from FALAJ_CONFIG) does not exist")
        return path
    candidate = home / "falaj.toml"
    return candidate if candidate.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    out: dict[str, Any] = {}
    for key, raw in data.items():
        if isinstance(raw, dict):
            raise ConfigError(
                f"setting {key!r} in {path}: sections are not supported, use top-level keys"
            )
        out[key] = _parse_field(key, raw, f"config file {path}")
    if "home" in out:
        raise ConfigError(f"setting 'home' in {path}: the file lives in home; set it elsewhere")
    return out


def render_toml(settings: Settings, keys: tuple[str, ...]) -> str:
    """TOML text for ``keys`` of ``settings`` (used by ``Workspace.init``)."""
    lines = ["# Falaj workspace settings. Environment FALAJ_* variables override these."]
    for key in keys:
        value = getattr(settings, key)
        if value is None:
            continue
        text = str(value).replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'{key} = "{text}"' if not isinstance(value, int) else f"{key} = {value}")
    return "\n".join(lines) + "\n"
