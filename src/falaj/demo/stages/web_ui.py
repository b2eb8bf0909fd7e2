"""Stage: the web UI. Starts ``falaj ui`` on a free port against the demo workspace (as a user
would, in its own process), opens the registered version's page with the printed token as a
bearer token, checks the gate report is on it, and prints the address.

Reads ``ctx.results["registered_version"]`` (the registry stage's version of ``credit-risk``).
Puts ``ctx.results["ui_page"]`` (the version page's URL, valid while the UI runs).
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from falaj.errors import ExecutionError

if TYPE_CHECKING:
    from falaj.demo.runner import DemoContext

MODEL = "credit-risk"
_LINK = re.compile(r"open: (http://\S+)/ui/login\?token=(\S+)")
_STARTUP_S = 60.0


def _read_link(proc: subprocess.Popen[str]) -> tuple[str, str]:
    assert proc.stdout is not None
    deadline = time.monotonic() + _STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise ExecutionError(f"falaj ui exited with code {proc.returncode}: {err[-2000:]}")
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            match = _LINK.search(proc.stdout.readline())
            if match:
                return match[1], match[2]
    raise ExecutionError(f"falaj ui printed no login link within {_STARTUP_S:.0f} s")


def run(ctx: DemoContext) -> None:
    import httpx

    version = int(ctx.results.get("registered_version") or 1)
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "falaj", "--home", str(ctx.ws.home), "ui", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        origin, token = _read_link(proc)
        url = f"{origin}/ui/models/{MODEL}/versions/{version}"
        response = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        if response.status_code != 200 or "Gate report" not in response.text:
            raise ExecutionError(f"GET {url} answered {response.status_code}")
        ctx.say(f"falaj ui serves {url} ({len(response.content):,} bytes, gate report included)")
        ctx.say(
            "sign in with the token `falaj ui` prints at start (or send it as a bearer token); "
            "pages: /ui/runs, /ui/datasets/NAME, /ui/models/NAME, /ui/audit"
        )
        ctx.results["ui_page"] = url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
