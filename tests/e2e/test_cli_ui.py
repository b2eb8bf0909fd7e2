"""``falaj ui`` as a user runs it: the printed link signs the owner in; nothing else does."""

from __future__ import annotations

import getpass
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import run_falaj

pytestmark = pytest.mark.slow

LINK = re.compile(r"open: (http://\S+)/ui/login\?token=(\S+)")


def test_falaj_ui_prints_a_login_link_for_the_owner(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert run_falaj("init", str(home)).code == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "falaj", "--home", str(home), "ui", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "250", "NO_COLOR": "1"},
    )
    try:
        assert proc.stdout is not None
        # Lines are read by a thread with blocking reads: select() on the pipe cannot see lines
        # a previous readline() already buffered (both lines arriving in one chunk, as they do
        # on a busy machine, left the link unread until the deadline).
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(line) for line in proc.stdout or []], daemon=True
        ).start()
        deadline, match = time.monotonic() + 120, None
        while match is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                match = LINK.search(lines.get(timeout=0.5))
            except queue.Empty:
                continue
        assert match is not None, proc.stderr.read() if proc.poll() is not None else "no link"
        origin, token = match[1], match[2]
        signed_in = httpx.get(f"{origin}/ui/login", params={"token": token})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/ui/runs"
        page = httpx.get(f"{origin}/ui/runs", cookies=signed_in.cookies)
        assert page.status_code == 200
        owner = re.sub(r"[^A-Za-z0-9._@+\-]", "_", getpass.getuser())
        assert f'data-testid="principal">{owner}<' in page.text
        wrong = httpx.get(f"{origin}/ui/login", params={"token": "x" + token})
        assert wrong.status_code == 401 and "falaj_ui=" not in wrong.headers.get("set-cookie", "")
        assert httpx.get(f"{origin}/ui/runs").status_code == 303  # no cookie: to the login page
    finally:
        proc.terminate()
        proc.wait(timeout=20)
