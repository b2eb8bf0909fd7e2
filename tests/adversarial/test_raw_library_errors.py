"""Inputs that used to surface raw library errors (DataError, UnicodeDecodeError, ValueError)
now get a clear FalajError naming the field and what was expected, and change nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from falaj.data.errors import SourceFormatError
from falaj.data.sources import CsvSource
from falaj.errors import ConfigError, InvalidInputError
from falaj.workspace import Workspace


def _falaj(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "falaj", *args], capture_output=True, text=True, env=env, timeout=600
    )


@pytest.mark.parametrize("bad", ["a\x00b", "caf\udcff"])
def test_unstorable_description_is_refused_at_the_call(any_ws: Workspace, bad: str) -> None:
    frame = pd.DataFrame({"x": [1, 2]})
    with pytest.raises(InvalidInputError, match=r"description .* is invalid: it holds"):
        any_ws.datasets.register("d", frame, description=bad)
    assert any_ws.datasets.latest_versions() == []
    with pytest.raises(InvalidInputError, match=r"description .* is invalid: it holds"):
        any_ws.registry.set_model_description("m", bad)
    version = any_ws.datasets.register("d", frame, description="fine")  # the backend still works
    assert version.description == "fine"


def test_malformed_database_url_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"db_url 'postgresql://u:\*\*\*@\[::1:5432/db' is not"):
        Workspace.init(tmp_path / "ws", db_url="postgresql://u:pw@[::1:5432/db")


def _latin1_csv(path: Path, header: str = "name,city") -> Path:
    path.write_bytes(f"{header}\nana,Montréal\nbo,São Paulo\n".encode("latin-1"))
    return path


def test_non_utf8_header_is_a_format_error_not_backend_unavailable(tmp_path: Path) -> None:
    path = _latin1_csv(tmp_path / "h.csv", header="nom,ville_é")
    home = tmp_path / "ws"
    Workspace.init(home).close()
    out = _falaj("--home", str(home), "data", "register", "towns", str(path))
    assert out.returncode == 2, out.stderr  # input mistake, not 9 (backend unavailable)
    assert "is not utf-8 text" in out.stderr and "--encoding latin-1" in out.stderr
    assert "Traceback" not in out.stderr
    ok = _falaj(
        "--home", str(home), "data", "register", "towns", str(path), "--encoding", "latin-1"
    )
    assert ok.returncode == 0, ok.stderr
    with Workspace.open(home) as ws:
        assert list(ws.datasets.load("towns").columns) == ["nom", "ville_é"]


def test_latin1_values_are_refused_not_stored_as_binary(ws: Workspace, tmp_path: Path) -> None:
    path = _latin1_csv(tmp_path / "v.csv")
    with pytest.raises(SourceFormatError, match=r"column\(s\) \['city'\] hold text that is not"):
        ws.datasets.register("towns", CsvSource(str(path)))
    assert ws.datasets.latest_versions() == []
    ws.datasets.register("towns", CsvSource(str(path), encoding="latin-1"))
    frame = ws.datasets.load("towns")
    assert frame["city"].tolist() == ["Montréal", "São Paulo"]


def test_unknown_encoding_is_named(ws: Workspace, tmp_path: Path) -> None:
    path = _latin1_csv(tmp_path / "v.csv")
    with pytest.raises(InvalidInputError, match="encoding 'klingon' is unknown"):
        ws.datasets.register("towns", CsvSource(str(path), encoding="klingon"))
