"""A real ``falaj server`` process on a free loopback port, over a fresh workspace whose owner
bootstrapped an admin; helpers to make users with tokens through the API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from falaj.workspace import Workspace

ADMIN = "root-admin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    home: Path
    admin_token: str
    process: subprocess.Popen[bytes]
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)
    sessions: dict[str | None, httpx.Client] = field(default_factory=dict)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=60)

    def session(self, token: str | None) -> httpx.Client:
        """A client kept open for ``token`` until :meth:`stop` (an httpx client costs a TLS
        context to build, so request-heavy tests reuse them)."""
        if token not in self.sessions:
            self.sessions[token] = self.client(token)
        return self.sessions[token]

    def admin(self) -> httpx.Client:
        return self.client(self.admin_token)

    def user(self, name: str, role: str | None, **token: Any) -> str:
        """Create ``name`` with ``role`` through the API; returns a fresh token of theirs."""
        with self.admin() as api:
            if api.get(f"/users/{name}").status_code == 404:
                body = {"name": name, "role": role}
                created = api.post("/users", json=body)
                assert created.status_code == 201, created.text
            answer = api.post("/tokens", json={"user": name, **token})
            assert answer.status_code == 201, answer.text
            text = str(answer.json()["token"])
        self.tokens[name] = text
        return text

    def stop(self) -> None:
        for session in self.sessions.values():
            session.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def start_server(
    home: Path,
    *args: str,
    seed: Callable[[Workspace], None] | None = None,
    scheme: str = "http",
    client_cert: tuple[str, str] | None = None,
    verify: str | bool = True,
) -> Served:
    """Init a workspace in ``home`` (its owner creates the admin and a token), start the server
    on a free port and wait until ``/api/v1/health`` answers (or fail with its log)."""
    with Workspace.init(home) as ws:
        ws.identity.create_user(ADMIN, role="admin")
        _, token = ws.identity.create_token(ADMIN, expires="1d")
        if seed is not None:
            seed(ws)
    port = free_port()
    log = home / "server.log"
    env = {**os.environ, "FALAJ_LOG_FORMAT": "json"}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).parents[2] / "src"), env.get("PYTHONPATH", "")]
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "falaj",
                "--home",
                str(home),
                "server",
                "--port",
                str(port),
                *args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    served = Served(f"{scheme}://127.0.0.1:{port}", home, token, process, log)
    context: Any = True
    if scheme == "https":
        import ssl

        context = ssl.create_default_context(cafile=str(verify))
        if client_cert is not None:
            context.load_cert_chain(*client_cert)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited ({process.returncode}):\n{log.read_text()}")
        try:
            answer = httpx.get(f"{served.url}/api/v1/health", timeout=2, verify=context)
            if answer.status_code == 200:
                return served
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    served.stop()
    raise AssertionError(f"server did not become healthy:\n{log.read_text()}")
