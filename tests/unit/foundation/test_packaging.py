"""pyproject.toml: the license is an SPDX expression (no setuptools deprecation warning on
every install) and the build backend is new enough to read it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


def test_license_is_an_spdx_string_not_a_table() -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    assert not any(c.startswith("License ::") for c in project.get("classifiers", []))


def test_setuptools_that_reads_spdx_license_strings_is_required() -> None:
    requires = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["build-system"]["requires"]
    setuptools = next(r for r in requires if r.startswith("setuptools"))
    found = re.search(r">=\s*(\d+)", setuptools)
    assert found is not None and int(found.group(1)) >= 77  # PEP 639 support
