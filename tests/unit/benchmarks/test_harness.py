"""``make bench``: a peer's failure is reported with its reason, and the other benchmarks run."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from benchmarks.__main__ import run_all
from benchmarks._peer import run_peer
from benchmarks.pipelines import _timed_process


def test_a_peer_process_that_fails_is_reported_with_its_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    crash = [
        sys.executable,
        "-c",
        "import sys; sys.exit('sqlite3.OperationalError: database is locked')",
    ]
    outcome = run_peer("Prefect 3", lambda: _timed_process(crash))
    assert outcome.value is None and not outcome.ok
    assert outcome.reason == "RuntimeError: sqlite3.OperationalError: database is locked"
    assert "Prefect 3 FAILED: RuntimeError: sqlite3.OperationalError: database is locked" in (
        capsys.readouterr().out
    )


def test_a_peer_that_works_gives_its_value() -> None:
    ok = run_peer("peer", lambda: _timed_process([sys.executable, "-c", "pass"]))
    assert ok.ok and ok.value is not None and ok.value > 0


def test_a_failing_benchmark_does_not_stop_the_others(capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("prefect_flow.py exited 1:\nTraceback...\ndatabase is locked")

    modules = {
        "pipelines": SimpleNamespace(main=broken),
        "registry": SimpleNamespace(main=lambda: ran.append("registry")),
    }
    assert run_all(["pipelines", "registry"], modules.__getitem__) == 1
    assert ran == ["registry"]
    out = capsys.readouterr().out
    assert "benchmarks.pipelines FAILED: RuntimeError: database is locked" in out
    assert "failed: pipelines (RuntimeError: database is locked)" in out
