"""``falaj ui``: the web UI on this workspace, signed in with a token printed at start."""

from __future__ import annotations

import typer

from falaj.cli.common import console, open_workspace

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def ui(
    ctx: typer.Context,
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (loopback by default: only this machine)."
    ),
    port: int = typer.Option(8090, "--port", min=0, max=65535, help="Port (0: any free port)."),
) -> None:
    """Serve the web UI (runs, datasets, models, audit) on this workspace until Ctrl-C.

    A login token is generated at start and printed once, with a link that signs you in as the
    workspace owner (the OS user); whoever holds it can act as you, so do not share it.
    """
    import uvicorn

    from falaj.ui.auth import LocalTokenAuthenticator
    from falaj.ui.live_deployments import WorkspaceDeployments
    from falaj.ui.serve import bind, build_asgi

    with open_workspace(ctx) as ws:
        auth = LocalTokenAuthenticator()
        sock = bind(host, port)
        actual = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        console.print(f"Falaj UI on workspace {ws.home}, signed in as {auth.owner}")
        console.print(
            f"  open: http://{shown}:{actual}/ui/login?token={auth.token}", soft_wrap=True
        )
        console.print(f"  or sign in at http://{shown}:{actual}/ui/login with token {auth.token}")
        if host not in _LOOPBACK:
            console.print(
                f"[yellow]listening on {host}: other machines can reach this UI; serve it "
                "behind HTTPS (falaj server) for anything but a trusted network[/]"
            )
        config = uvicorn.Config(
            build_asgi(ws, auth, deployments=WorkspaceDeployments(ws)),
            log_level="warning",
            lifespan="off",
        )
        uvicorn.Server(config).run(sockets=[sock])
