"""Immutable settings, resolved in layers: defaults < ``falaj.toml`` < ``FALAJ_*`` env < arguments.

The TOML file is found at the explicit ``config_file`` argument, else ``$FALAJ_CONFIG``, else
``<home>/falaj.toml`` (when it exists). Secrets (a password in ``db_url``...) live outside it:
in ``falaj.secrets.toml`` next to it (mode 0600, read after it), or as ``${ENV_VAR}`` references
inside a value, expanded at load. A config file that other users can read and that holds a
secret gets a warning. The repr of :class:`Settings` and ``metadata_url`` mask passwords;
``metadata_dsn`` is the one accessor holding the real connection string.

Every key is declared once in :data:`FIELDS`; an unknown key or a malformed value is a
:class:`~falaj.errors.ConfigError` that names the key and its source.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from falaj.errors import ConfigError
from falaj.redact import has_secret, redact

__all__ = ["FIELDS", "SECRETS_FILE", "SettingField", "Settings", "write_config"]

_log = logging.getLogger(__name__)

#: settings whose values may carry credentials (URL user-info, tokens)
SECRET_FIELDS = ("db_url", "artifact_uri", "redis_url", "ray_address")
#: the file next to falaj.toml holding secrets, mode 0600
SECRETS_FILE = "falaj.secrets.toml"
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

ENV_PREFIX = "FALAJ_"
#: FALAJ_* variables that are not settings: read by the CLI, the server, the ledger or the tests
_NON_SETTING_ENV = (
    "FALAJ_CONFIG",
    "FALAJ_TEST_",
    "FALAJ_BENCH_",
    "FALAJ_DEBUG",
    "FALAJ_SERVER_URL",
    "FALAJ_TOKEN",
    "FALAJ_CREDENTIALS",
    "FALAJ_OIDC_",
    "FALAJ_UI_SECRET",
    "FALAJ_DUCKDB_MEMORY_LIMIT",
    "FALAJ_AUDIT_KEY",
    "FALAJ_SERVE_",
)
_LOG_FORMATS = ("text", "json")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_SQLITE_SYNCHRONOUS = ("FULL", "NORMAL")
_SIGNING_MODES = ("enforce", "warn", "off")
_PII_ACTIONS = ("hash", "drop")


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


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _parse_optional_path(value: Any) -> Path | None:
    if value is None or value == "":
        return None
    return _parse_path(value)


def _parse_fraction(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number between 0 (exclusive) and 1")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError("expected a number between 0 (exclusive) and 1") from None
    if not 0.0 < number <= 1.0:
        raise ValueError("expected a number between 0 (exclusive) and 1")
    return number


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


def _parse_modules(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError("expected module names separated by commas")
    out = []
    for item in items:
        name = item.strip() if isinstance(item, str) else ""
        if not name or not all(part.isidentifier() for part in name.split(".")):
            raise ValueError("expected dotted module names separated by commas (my_pkg.steps)")
        out.append(name)
    return tuple(out)


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
            "step_modules",
            _parse_modules,
            "modules whose plain functions YAML pipeline specs may use (comma-separated)",
        ),
        # -- trust (issue 16) --
        SettingField(
            "encryption",
            _parse_bool,
            "encrypt artifacts at rest (AES-256-GCM, a data key per object, wrapped by a "
            "master key in keys/master)",
        ),
        SettingField(
            "signing_mode",
            _parse_choice(_SIGNING_MODES),
            "model signatures on load: enforce (refuse unsigned/untrusted/modified), warn "
            "(load, warn loudly, audit), off",
        ),
        SettingField(
            "residency_policy",
            _parse_optional_path,
            "residency policy file (TOML: which data classifications may live in which regions)",
        ),
        # -- end trust --
        # -- monitoring (issue 14): what `falaj serve` logs --
        SettingField(
            "prediction_sample_rate",
            _parse_fraction,
            "share of served requests written to the prediction log (0 < rate <= 1)",
        ),
        SettingField(
            "prediction_pii",
            _parse_choice(_PII_ACTIONS),
            "columns classified pii in the prediction log: hash (keyed) or drop",
        ),
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
    step_modules: tuple[str, ...] = ()
    sqlite_synchronous: str = "FULL"
    encryption: bool = False
    signing_mode: str = "warn"
    residency_policy: Path | None = None
    prediction_sample_rate: float = 1.0
    prediction_pii: str = "hash"
    #: where each value came from: "default", a file path, an env var name, or "argument".
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    #: the values as written, for settings that hold ``${ENV_VAR}`` references
    references: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={redact(repr(getattr(self, name)))}" for name in FIELDS if name != "home"
        )
        return f"Settings(home={str(self.home)!r}, {shown})"

    @property
    def metadata_dsn(self) -> str:
        """The metadata DB connection string, password included: connect with it, never print."""
        return self.db_url or f"sqlite:///{self.home / 'falaj.db'}"

    @property
    def metadata_url(self) -> str:
        """The effective metadata DB URL with any password masked (safe to show)."""
        return redact(self.metadata_dsn)

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
        return self.metadata_dsn.startswith("sqlite")

    def replace(self, **overrides: Any) -> Settings:
        """A copy with ``overrides`` applied as explicit arguments (validated)."""
        values = {name: getattr(self, name) for name in FIELDS}
        sources = dict(self.sources)
        references = {k: v for k, v in self.references.items() if k not in overrides}
        for key, raw in overrides.items():
            values[key] = _parse_field(key, raw, "argument")
            sources[key] = "argument"
        references.update(_expand_references(values, sources, os.environ))
        return Settings(**values, sources=sources, references=references)

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
        secrets = (path.parent if path is not None else home) / SECRETS_FILE
        for file in (path, secrets if secrets.is_file() else None):
            if file is None:
                continue
            read = _read_toml(file)
            if file is secrets and set(read) - set(SECRET_FIELDS):
                raise ConfigError(
                    f"{file} holds {sorted(set(read) - set(SECRET_FIELDS))}; a secrets file "
                    f"holds only {', '.join(SECRET_FIELDS)}"
                )
            _warn_if_exposed(file, read)
            for key, value in read.items():
                values[key] = value
                sources[key] = str(file)
        for key, value in env_values.items():
            values[key] = value
            sources[key] = FIELDS[key].env_var
        for key, value in arg_values.items():
            values[key] = value
            sources[key] = "argument"
        references = _expand_references(values, sources, environ)
        return cls(**values, sources=sources, references=references)

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


def _expand_references(
    values: dict[str, Any], sources: Mapping[str, str], environ: Mapping[str, str]
) -> dict[str, str]:
    """Replace ``${ENV_VAR}`` in secret-bearing values (in place); returns the raw values."""
    raw: dict[str, str] = {}
    for key in SECRET_FIELDS:
        value = values.get(key)
        if not isinstance(value, str) or not _REFERENCE.search(value):
            continue

        def lookup(match: re.Match[str], key: str = key) -> str:
            name = match.group(1)
            if name not in environ:
                raise ConfigError(
                    f"setting {key!r} from {sources.get(key, 'argument')} refers to environment "
                    f"variable {name}, which is not set"
                )
            return environ[name]

        raw[key] = value
        values[key] = _REFERENCE.sub(lookup, value)
    return raw


def _warn_if_exposed(path: Path, values: Mapping[str, Any]) -> None:
    """Warn when a file other users can read holds a secret."""
    exposed = [k for k, v in values.items() if isinstance(v, str) and has_secret(v)]
    if not exposed:
        return
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        _log.warning(
            "config file %s (mode %04o) is readable by other users and holds a secret in %s; "
            "run `chmod 600 %s`, or write the secret as an environment variable reference "
            "(e.g. postgresql://user:${PGPASSWORD}@host/db)",
            path,
            mode,
            ", ".join(exposed),
            path,
        )


def write_config(marker: Path, settings: Settings, keys: tuple[str, ...]) -> None:
    """Write ``keys`` of ``settings`` to ``marker`` (falaj.toml); secrets go to a 0600 file.

    A value holding a password is written to ``falaj.secrets.toml`` next to ``marker`` (created
    with mode 0600) and only shown, masked, in a comment of ``falaj.toml``. A value written
    with ``${ENV_VAR}`` references stays a reference: nothing secret is stored at all.
    """
    public = settings
    plain: list[str] = []
    secret: list[str] = []
    notes: list[str] = []
    for key in keys:
        value = public.references.get(key, getattr(public, key))
        if key in SECRET_FIELDS and isinstance(value, str) and has_secret(value):
            secret.append(key)
            notes.append(f"# {key} = {_toml_value(redact(value))}   (in {SECRETS_FILE}, mode 0600)")
        else:
            plain.append(key)
    text = render_toml(public, tuple(plain))
    if notes:
        text += "\n".join(notes) + "\n"
    if secret:
        lines = ["# Falaj secrets: keep this file private (mode 0600)."]
        for key in secret:
            value = public.references.get(key, getattr(public, key))
            lines.append(f"{key} = {_toml_value(value)}")
        path = marker.parent / SECRETS_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write("\n".join(lines) + "\n")
    marker.write_text(text, encoding="utf-8")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, tuple | list):
        return '"' + ",".join(value) + '"'
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_toml(settings: Settings, keys: tuple[str, ...]) -> str:
    """TOML text for ``keys`` of ``settings`` (used by ``Workspace.init``)."""
    lines = ["# Falaj workspace settings. Environment FALAJ_* variables override these."]
    for key in keys:
        value = getattr(settings, key)
        if value is None:
            continue
        value = settings.references.get(key, value)
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
