from __future__ import annotations

from pathlib import Path

import pytest

from falaj.config import Settings
from falaj.errors import ConfigError


def test_defaults_put_everything_under_home(tmp_path: Path) -> None:
    s = Settings.load(env={}, home=tmp_path)
    assert s.home == tmp_path
    assert s.metadata_url == f"sqlite:///{tmp_path / 'falaj.db'}"
    assert s.artifacts_url == (tmp_path / "artifacts").as_uri()
    assert s.region == "local"
    assert s.is_embedded


def test_layers_apply_in_order_file_then_env_then_arguments(tmp_path: Path) -> None:
    (tmp_path / "falaj.toml").write_text('region = "from-file"\nlog_format = "json"\n')
    env = {"FALAJ_HOME": str(tmp_path), "FALAJ_REGION": "from-env"}
    from_file_and_env = Settings.load(env=env)
    assert from_file_and_env.region == "from-env"
    assert from_file_and_env.log_format == "json"
    assert from_file_and_env.sources["log_format"] == str(tmp_path / "falaj.toml")
    assert from_file_and_env.sources["region"] == "FALAJ_REGION"
    explicit = Settings.load(env=env, region="from-arg")
    assert explicit.region == "from-arg"
    assert explicit.sources["region"] == "argument"


def test_unknown_key_in_file_names_key_and_file(tmp_path: Path) -> None:
    (tmp_path / "falaj.toml").write_text('regoin = "ae"\n')
    with pytest.raises(ConfigError) as err:
        Settings.load(env={}, home=tmp_path)
    assert "'regoin'" in str(err.value)
    assert str(tmp_path / "falaj.toml") in str(err.value)


def test_unknown_env_variable_is_named() -> None:
    with pytest.raises(ConfigError, match="FALAJ_DB_URI"):
        Settings.load(env={"FALAJ_DB_URI": "sqlite://"})


def test_malformed_value_names_key_value_and_variable() -> None:
    with pytest.raises(ConfigError) as err:
        Settings.load(env={"FALAJ_LOG_FORMAT": "xml"})
    message = str(err.value)
    assert "log_format" in message and "'xml'" in message and "FALAJ_LOG_FORMAT" in message
    assert "text, json" in message


def test_malformed_toml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "falaj.toml").write_text("region = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load(env={}, home=tmp_path)


def test_batch_size_must_be_positive_integer() -> None:
    with pytest.raises(ConfigError, match="tracking_batch_size"):
        Settings.load(env={"FALAJ_TRACKING_BATCH_SIZE": "-3"})
    assert Settings.load(env={"FALAJ_TRACKING_BATCH_SIZE": "50"}).tracking_batch_size == 50


def test_settings_are_immutable(tmp_path: Path) -> None:
    s = Settings.load(env={}, home=tmp_path)
    with pytest.raises(AttributeError):
        s.region = "x"  # type: ignore[misc]
    changed = s.replace(region="ae-abudhabi-1")
    assert changed.region == "ae-abudhabi-1" and s.region == "local"


def test_explicit_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.load(env={}, config_file=tmp_path / "nope.toml")


def test_region_rejects_odd_characters() -> None:
    with pytest.raises(ConfigError, match="region"):
        Settings.load(env={}, region="ae dubai")


@pytest.mark.parametrize(
    "var",
    [
        "FALAJ_DEBUG",
        "FALAJ_SERVER_URL",
        "FALAJ_TOKEN",
        "FALAJ_CREDENTIALS",
        "FALAJ_OIDC_ISSUER",
        "FALAJ_UI_SECRET",
        "FALAJ_DUCKDB_MEMORY_LIMIT",
    ],
)
def test_variables_the_cli_and_server_read_are_not_unknown_settings(var: str) -> None:
    # Regression: FALAJ_DEBUG=1 (documented for tracebacks) made every command fail with
    # "unknown setting in environment variable FALAJ_DEBUG".
    settings = Settings.load(env={var: "1"})
    assert settings.region
