"""Stage: the platform server. The workspace served over HTTP on a free loopback port (a real
``falaj server`` in a child process); a risk officer (approver) and an intern (viewer) get API
tokens; the risk officer approves through the API, the intern's promotion is refused (403) and
the audit log shows the ``denied`` event under the request's id; an ML engineer then promotes
through the gates.

Reads ``ctx.results["champion_version"]`` (or ``registered_version``). Puts
``ctx.results["server_denied_event"]`` (the audit event's seq).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx

from falaj.errors import BackendUnavailableError

if TYPE_CHECKING:
    from falaj.demo.runner import DemoContext

SOURCE = "credit-risk"
MODEL = "credit-risk-api"
POLICY = "risk: medium\napprovals: {count: 1, role: approver}   # a human reviewer\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(ctx: DemoContext) -> Iterator[str]:
    """``falaj server`` over the demo's workspace in a child process; yields the base URL once
    healthy (and stops the server afterwards)."""
    port = _free_port()
    log = ctx.workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "falaj",
                "--home",
                str(ctx.ws.home),
                "server",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise BackendUnavailableError(
                    f"the demo server did not become healthy (see {log}): "
                    f"{log.read_text(errors='replace')[-2000:]}"
                )
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def run(ctx: DemoContext) -> None:
    ws = ctx.ws
    version = int(ctx.results.get("champion_version") or ctx.results["registered_version"])
    source = ws.registry.get_version(SOURCE, version)
    served = ws.registry.create_version(MODEL, source.source_uri, description="served copy")
    ws.registry.set_policy(MODEL, POLICY)
    tokens: dict[str, str] = {}
    for name, role in (
        ("risk-officer", "approver"),
        ("intern", "viewer"),
        ("mlops", "ml-engineer"),
    ):
        ws.identity.create_user(name, role=role)
        tokens[name] = ws.identity.create_token(name, expires="1h")[1]
    ctx.say(
        "users risk-officer (approver), intern (viewer) and mlops (ml-engineer) with API "
        "tokens: shown once, stored as SHA-256 hashes"
    )
    path = f"/api/v1/models/{MODEL}"
    with _serving(ctx) as url:
        ctx.say(f"serving the workspace on {url} (only /api/v1/health is anonymous)")
        with httpx.Client(base_url=url, timeout=60) as http:
            anonymous = http.get(f"{path}/versions")
            ctx.say(f"no token: GET {path}/versions -> {anonymous.status_code}")

            def call(who: str, method: str, suffix: str, body: dict[str, object]) -> httpx.Response:
                headers = {"Authorization": f"Bearer {tokens[who]}", "X-Request-ID": f"demo-{who}"}
                return http.request(method, f"{path}{suffix}", json=body, headers=headers)

            approved = call(
                "risk-officer",
                "POST",
                f"/versions/{served.version}/approvals",
                {"comment": "reviewed the evaluation and the model card"},
            )
            ctx.say(
                f"risk-officer approves v{served.version} through the API -> {approved.status_code}"
            )
            refused = call(
                "intern",
                "PUT",
                "/aliases/production",
                {"version": served.version, "reason": "looks good to me"},
            )
            ctx.say(
                f"intern tries to promote -> {refused.status_code}: "
                f"{refused.json()['error']['message']}"
            )
            promoted = call(
                "mlops",
                "PUT",
                "/aliases/production",
                {"version": served.version, "reason": "approved; gates pass"},
            )
            ctx.say(f"mlops promotes through the gates (model.promote) -> {promoted.status_code}")
    if approved.status_code != 201 or refused.status_code != 403 or promoted.status_code != 200:
        raise BackendUnavailableError(
            f"the server stage went wrong: approve {approved.status_code}, "
            f"intern {refused.status_code}, promote {promoted.status_code}"
        )
    denied = ws.audit.list(outcome="denied", principal="intern", limit=1)[0]
    ctx.say(
        f"audit #{denied.seq}: {denied.principal} {denied.action} on "
        f"{denied.resource_type}:{denied.resource_id} -> {denied.outcome} "
        f"(request {denied.request_id})"
    )
    ctx.results["server_denied_event"] = denied.seq
