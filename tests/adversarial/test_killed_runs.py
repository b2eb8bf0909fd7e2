"""A run whose process was killed (kill -9) stays RUNNING; it records its host and pid, so
``falaj runs list --stale`` finds it and ``falaj runs end`` ends it, audited."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from falaj.workspace import Workspace
from tests.e2e.conftest import run_falaj


def _killed_run(home: Path) -> tuple[str, int]:
    script = textwrap.dedent(
        f"""
        import sys, time
        from falaj.workspace import Workspace
        ws = Workspace.open({str(home)!r})
        run = ws.start_run("doomed")
        run.log_metric("loss", 0.5)
        ws.tracking.flush()
        print(run.id, flush=True)
        time.sleep(600)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(60)
    return run_id, proc.pid


def test_stale_run_is_listed_and_ended_by_the_cli(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    Workspace.init(home).close()
    run_id, pid = _killed_run(home)
    with Workspace.open(home) as ws:
        live = ws.start_run("alive")  # running, its process alive: not stale
        ws.tracking.flush()
        stale = ws.tracking.stale_runs()
        assert [r.id for r in stale] == [run_id]
        assert stale[0].pid == pid and stale[0].host

        listed = run_falaj("--home", str(home), "runs", "list", "--stale", "--json")
        assert listed.code == 0, listed.err
        assert [r["id"] for r in json.loads(listed.out)["runs"]] == [run_id]

        ended = run_falaj(
            "--home",
            str(home),
            "runs",
            "end",
            run_id[:10],
            "--status",
            "killed",
            "--reason",
            "process killed by the OOM killer",
        )
        assert ended.code == 0, ended.err
        assert "ended as KILLED" in ended.out
        again = run_falaj("--home", str(home), "runs", "end", run_id)
        assert again.code == 6 and "already ended" in again.err

        got = ws.tracking.get_run(run_id)
        assert got.status == "KILLED" and got.error == "process killed by the OOM killer"
        (event,) = ws.audit.list(action="run.end", resource_id=run_id, outcome="success")
        assert event.details["ended_from_outside"] is True
        assert ws.tracking.stale_runs() == []
        bad = run_falaj("--home", str(home), "runs", "end", live.id, "--status", "DONE")
        assert bad.code == 2 and "'DONE' is not one of" in bad.err
        live.end()
