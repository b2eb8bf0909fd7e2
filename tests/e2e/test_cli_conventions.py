"""The command line's own conventions, checked over every command: help texts, flags, choices,
listing names, hidden commands, --version, and what ``falaj --help`` imports."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from falaj import __version__
from falaj.cli.app import COMMANDS, app
from tests.e2e.conftest import run_falaj


def _walk() -> Iterator[tuple[str, Any]]:
    """(path, click command) for every command and group, loading every lazy sub-command."""
    import typer.main

    root = typer.main.get_command(app)
    ctx = root.make_context("falaj", ["--help"], resilient_parsing=True)

    def walk(path: str, command: Any) -> Iterator[tuple[str, Any]]:
        yield path, command
        for name in command.list_commands(ctx) if hasattr(command, "list_commands") else []:
            yield from walk(f"{path} {name}", command.get_command(ctx, name))

    yield from walk("falaj", root)


def _help(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.output


def test_every_option_and_argument_has_help_text() -> None:
    missing = [
        f"{path} {param.name}"
        for path, command in _walk()
        for param in command.params
        if not (getattr(param, "help", None) or "").strip()
    ]
    assert missing == []


def test_help_never_shows_a_bool_type_after_a_flag() -> None:
    shown = []
    for path, command in _walk():
        args = path.split()[1:]
        if command.hidden:
            continue
        if "<bool>" in _help(*args):
            shown.append(path)
    assert shown == []


def test_choices_are_listed_in_help_and_refused_with_one_wording() -> None:
    text = _help("pipeline", "run")
    assert "<local|processes|ray>" in text
    assert "<up|down|both>" in _help("lineage")
    assert "<success|failure|denied>" in _help("audit", "list")
    for args, option, bad in [
        (["pipeline", "run", "x.yaml", "--executor", "nope"], "--executor", "nope"),
        (["pipeline", "export", "x.yaml", "-o", "f", "--to", "nope"], "--to", "nope"),
        (["lineage", "run:abc", "--direction", "nope"], "--direction", "nope"),
        (["audit", "list", "--outcome", "nope"], "--outcome", "nope"),
        (["pipeline", "list-runs", "--status", "nope"], "--status", "nope"),
    ]:
        result = run_falaj(*args)
        assert result.code == 2, (args, result.err)
        assert f"Invalid value for '{option}'" in result.err
        assert f"'{bad}' is not one of" in result.err


def test_step_run_is_hidden_from_the_top_level_help_but_still_runs() -> None:
    top = _help()
    assert "│ step " not in top
    assert "pipeline" in top
    assert "--run-key" in _help("step", "run")


def test_every_listing_is_named_list_and_the_old_spellings_are_hidden_aliases() -> None:
    renamed = {
        ("data",): ("list", "versions"),
        ("models",): ("list-versions", "versions"),
        ("gate",): ("list-approvals", "approvals"),
        ("pipeline",): ("list-runs", "runs"),
    }
    commands = dict(_walk())
    for group, (new, old) in renamed.items():
        path = " ".join(["falaj", *group])
        assert not commands[f"{path} {new}"].hidden
        assert commands[f"{path} {old}"].hidden
        new_params = [p.name for p in commands[f"{path} {new}"].params]
        assert [p.name for p in commands[f"{path} {old}"].params] == new_params
        assert f"│ {old} " not in _help(*group)
        assert f"│ {new} " in _help(*group)
    assert commands["falaj gate promotions"].hidden
    assert commands["falaj pipeline schedules"].hidden
    listings = [
        p for p, c in commands.items() if not c.hidden and (c.help or "").startswith("List")
    ]
    assert listings and all(p.split()[-1].startswith("list") for p in listings), listings


def test_old_spelling_still_works(tmp_path: Any) -> None:
    home = str(tmp_path / "ws")
    assert run_falaj("--home", home, "init").code == 0
    old = run_falaj("--home", home, "pipeline", "runs", "--json")
    new = run_falaj("--home", home, "pipeline", "list-runs", "--json")
    assert old.code == new.code == 0
    assert json.loads(old.out) == json.loads(new.out) == []


def test_version_flag_prints_the_package_version() -> None:
    result = run_falaj("--version")
    assert result.code == 0
    assert result.out.strip() == f"falaj {__version__}"


def test_top_level_commands_are_all_reachable() -> None:
    top = _help()
    for name, lazy in COMMANDS.items():
        assert (f"│ {name} " in top) != lazy.hidden, name


@pytest.mark.parametrize("args", [["--help"], ["runs", "--help"], ["info", "--help"]])
def test_help_imports_neither_pandas_nor_sklearn(args: list[str]) -> None:
    code = (
        "import sys\n"
        "from falaj.cli.app import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in ('pandas', 'sklearn', 'pyarrow', 'numpy', 'optuna')"
        " if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "HEAVY []" in proc.stdout, proc.stdout[-500:]
