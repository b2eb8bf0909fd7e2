"""Secrets never appear in clear: not in falaj.toml, `falaj info`, error lines, logs or reprs."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from falaj.config import SECRETS_FILE, Settings
from falaj.errors import ConfigError
from falaj.workspace import Workspace

PASSWORD = "S3cr3t-PW-42"


def _falaj(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "falaj", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=600,
    )


def _with_password(pg_url: str) -> str:
    scheme, rest = pg_url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{PASSWORD}@{host}"  # trust auth: the server ignores it


def test_init_keeps_the_password_out_of_falaj_toml_and_info(pg_url: str, tmp_path: Path) -> None:
    home = tmp_path / "ws"
    created = _falaj("init", str(home), "--db-url", _with_password(pg_url))
    assert created.returncode == 0, created.stderr
    config = (home / "falaj.toml").read_text()
    assert PASSWORD not in config and "***" in config
    secrets = home / SECRETS_FILE
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert PASSWORD in secrets.read_text()
    info = _falaj("--home", str(home), "info", "--json")
    assert info.returncode == 0, info.stderr  # the secret is read back to connect
    for output in (created, info):
        assert PASSWORD not in output.stdout + output.stderr
    settings = Settings.load(home=home)
    assert settings.sources["db_url"] == str(secrets)
    assert PASSWORD in settings.metadata_dsn
    assert PASSWORD not in settings.metadata_url and PASSWORD not in repr(settings)


def test_an_env_reference_is_stored_instead_of_the_secret(pg_url: str, tmp_path: Path) -> None:
    home = tmp_path / "ws"
    scheme, rest = pg_url.split("://", 1)
    user, host = rest.split("@", 1)
    reference = f"{scheme}://{user}:${{FALAJ_TEST_PGPW}}@{host}"
    env = {"FALAJ_TEST_PGPW": PASSWORD}
    assert _falaj("init", str(home), "--db-url", reference, env=env).returncode == 0
    assert "${FALAJ_TEST_PGPW}" in (home / "falaj.toml").read_text()
    assert not (home / SECRETS_FILE).exists()
    assert Settings.load(home=home, env=env).metadata_dsn == _with_password(pg_url)
    with pytest.raises(ConfigError, match="environment variable FALAJ_TEST_PGPW, which is not set"):
        Settings.load(home=home, env={})


def test_a_secret_in_a_file_others_can_read_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "ws"
    home.mkdir()
    config = home / "falaj.toml"
    config.write_text(f'redis_url = "redis://:{PASSWORD}@127.0.0.1:6379/0"\n')
    config.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="falaj.config"):
        settings = Settings.load(home=home)
    assert "readable by other users and holds a secret in redis_url" in caplog.text
    assert PASSWORD not in caplog.text and PASSWORD not in repr(settings)
    caplog.clear()
    config.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="falaj.config"):
        Settings.load(home=home)
    assert caplog.text == ""


def test_error_lines_mask_passwords_and_malformed_urls_are_clear(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    Workspace.init(home).close()
    bad = f"postgresql://alice:{PASSWORD}@[::1:5432/db"
    out = _falaj("--home", str(home), "info", env={"FALAJ_DB_URL": bad})
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and PASSWORD not in out.stderr
    assert "db_url 'postgresql://alice:***@[::1:5432/db' is not a database URL" in out.stderr


def test_mlflow_import_error_masks_the_tracking_uri_password(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    Workspace.init(home).close()
    uri = f"postgresql://alice:{PASSWORD}@127.0.0.1:1/mlflow"  # nothing listens on port 1
    out = _falaj("--home", str(home), "import", "mlflow", "--tracking-uri", uri)
    assert out.returncode != 0
    assert PASSWORD not in out.stdout + out.stderr
    assert "alice:***@" in out.stdout + out.stderr or "alice" not in out.stdout + out.stderr


def test_logs_mask_passwords(capsys: pytest.CaptureFixture[str]) -> None:
    from falaj.logs import configure_logging

    for fmt in ("text", "json"):
        configure_logging(fmt, "INFO")
        logging.getLogger("falaj.test").warning("connecting to postgresql://u:%s@h/db", PASSWORD)
        err = capsys.readouterr().err
        assert "u:***@h/db" in err and PASSWORD not in err
