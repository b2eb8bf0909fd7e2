from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.e2e.conftest import run_falaj


def test_init_info_put_get_verify_and_audit(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    r = run_falaj("init", str(home), "--region", "ae-dubai-1")
    assert r.code == 0, r.err
    assert "created" in r.out and (home / "falaj.toml").is_file()

    info = run_falaj("--home", str(home), "info", "--json")
    assert info.code == 0, info.err
    facts = json.loads(info.out)
    assert facts["region"] == "ae-dubai-1"
    assert facts["metadata"].startswith("sqlite:///")
    assert facts["schema"]

    data = tmp_path / "loans.csv"
    data.write_bytes(b"id,amount\n1,100\n2,250\n")
    put = run_falaj("--home", str(home), "artifacts", "put", str(data))
    assert put.code == 0, put.err
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    assert f"sha256:{digest}" in put.out and "text/csv" in put.out

    out = tmp_path / "copy.csv"
    got = run_falaj("--home", str(home), "artifacts", "get", digest, "-o", str(out))
    assert got.code == 0, got.err
    assert out.read_bytes() == data.read_bytes()

    ok = run_falaj("--home", str(home), "artifacts", "verify")
    assert ok.code == 0 and "0 damaged" in ok.out

    audit = run_falaj("--home", str(home), "audit", "list", "--json")
    actions = [e["action"] for e in json.loads(audit.out)]
    assert actions == ["artifact.put", "workspace.init"]


def test_verify_exits_non_zero_on_damage(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    run_falaj("init", str(home))
    data = tmp_path / "x.bin"
    data.write_bytes(b"precious bytes")
    run_falaj("--home", str(home), "artifacts", "put", str(data))
    digest = hashlib.sha256(b"precious bytes").hexdigest()
    obj = home / "artifacts" / "objects" / "sha256" / digest[:2] / digest[2:]
    obj.write_bytes(b"precious bytez")
    r = run_falaj("--home", str(home), "artifacts", "verify")
    assert r.code == 5
    assert "damaged" in r.out and digest in r.out
    out = tmp_path / "out.bin"
    g = run_falaj("--home", str(home), "artifacts", "get", digest, "-o", str(out))
    assert g.code == 5 and not out.exists()
    assert "Traceback" not in g.err


def test_input_mistakes_print_one_line_and_no_traceback(tmp_path: Path) -> None:
    missing = run_falaj("--home", str(tmp_path / "nowhere"), "info")
    assert missing.code == 3
    assert "no Falaj workspace" in missing.err and "Traceback" not in missing.err
    assert len(missing.err.strip().splitlines()) == 1

    bad_env = run_falaj("--home", str(tmp_path), "info", env={"FALAJ_LOG_FORMAT": "xml"})
    assert bad_env.code == 2 and "FALAJ_LOG_FORMAT" in bad_env.err
    assert "Traceback" not in bad_env.err

    run_falaj("init", str(tmp_path / "ws"))
    bad_digest = run_falaj("--home", str(tmp_path / "ws"), "artifacts", "get", "abc", "-o", "x")
    assert bad_digest.code == 2 and "digest 'abc' is invalid" in bad_digest.err

    again = run_falaj("init", str(tmp_path / "ws"))
    assert again.code == 4 and "already exists" in again.err

    unknown = run_falaj("--home", str(tmp_path / "ws"), "audit", "list", "--nmae", "x")
    assert unknown.code == 2 and "No such option" in unknown.err
    assert "Traceback" not in unknown.err


def test_db_upgrade_and_current(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    up = run_falaj("--home", str(home), "db", "upgrade")
    assert up.code == 0, up.err
    assert "upgraded" in up.out
    cur = run_falaj("--home", str(home), "db", "current")
    assert cur.code == 0
    again = run_falaj("--home", str(home), "db", "upgrade")
    assert "already current" in again.out


def test_help_lists_the_commands() -> None:
    r = run_falaj("--help")
    assert r.code == 0
    for command in ("init", "info", "db", "artifacts", "audit", "demo"):
        assert command in r.out


def test_init_defaults_to_home_option_or_environment(tmp_path: Path) -> None:
    by_option = run_falaj("--home", str(tmp_path / "a"), "init")
    assert by_option.code == 0, by_option.err
    assert (tmp_path / "a" / "falaj.toml").is_file()
    by_env = run_falaj("init", env={"FALAJ_HOME": str(tmp_path / "b")})
    assert by_env.code == 0, by_env.err
    assert (tmp_path / "b" / "falaj.toml").is_file()
