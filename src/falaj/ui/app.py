"""The UI's ASGI app: identify the caller, run the page inside their request scope, render.

:func:`create_ui_app` returns a Starlette app meant to be mounted at ``/ui`` (``falaj ui``
mounts it so; ``falaj server`` mounts the same app beside its API). Every page request:

1. identifies the caller: ``Authorization: Bearer TOKEN`` (checked by the
   :class:`~falaj.ui.auth.Authenticator`) or the signed session cookie set by ``/ui/login``;
   nobody identified -> redirect to the login page (a bearer token that fails -> 401);
2. runs the page function in a worker thread inside
   ``request_scope(principal=..., authenticated=...)``, so every service call it makes is
   authorized and audited as that principal (the same seam the API uses: a refused read or a
   forged POST is refused by the service, recorded as ``denied``, and shown as a 403 page);
3. renders a Jinja2 template (autoescaped) with strict security headers.

POST forms must carry the session's CSRF token (requests with a bearer token carry no ambient
credential and need none).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from falaj.errors import (
    ConflictError,
    FalajError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PolicyViolationError,
)
from falaj.governance.context import request_scope
from falaj.governance.principal import Principal
from falaj.ui.auth import Authenticator
from falaj.ui.deployments import DeploymentsSource
from falaj.ui.rendering import Page, Templates
from falaj.ui.session import Session, SessionSigner
from falaj.workspace import Workspace

__all__ = ["PageContext", "create_ui_app"]

_log = logging.getLogger("falaj.ui")

COOKIE = "falaj_ui"
LOGIN_COOKIE = "falaj_ui_login"

PageFn = Callable[["PageContext"], "Page | Response"]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class PageContext:
    """What a page function gets: the workspace, the caller, and the request's inputs."""

    ws: Workspace
    principal: Principal
    session: Session | None
    base: str
    path: str
    path_params: dict[str, str]
    query: dict[str, list[str]]
    form: dict[str, str] = field(default_factory=dict)
    deployments: DeploymentsSource | None = None

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[-1].strip() if values else default

    def args(self, name: str) -> list[str]:
        return [v for v in self.query.get(name, []) if v.strip()]

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session is not None else ""


class _UI:
    def __init__(
        self,
        ws: Workspace,
        authenticator: Authenticator,
        signer: SessionSigner,
        deployments: DeploymentsSource | None,
        clock: Callable[[], dt.datetime],
        secure_cookies: bool,
    ) -> None:
        self.ws = ws
        self.authenticator = authenticator
        self.signer = signer
        self.deployments = deployments
        self.clock = clock
        self.secure_cookies = secure_cookies
        self.templates = Templates()

    # -- identity ------------------------------------------------------------------------------
    def _identify(self, request: Request) -> tuple[Principal, Session | None] | Response | None:
        header = request.headers.get("authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return self._error(request, 401, "The Authorization header must be 'Bearer TOKEN'.")
            try:
                return self.authenticator.authenticate(token.strip()), None
            except PermissionDeniedError as exc:
                return self._error(request, 401, f"The bearer token was refused: {exc}")
        cookie = request.cookies.get(COOKIE)
        if cookie:
            try:
                session = self.signer.verify(cookie, self.clock())
            except PermissionDeniedError:
                return None
            return session.principal, session
        return None

    def base(self, request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    def _error(
        self, request: Request, status: int, message: str, principal: Principal | None = None
    ) -> Response:
        html = self.templates.render(
            "error.html",
            base=self.base(request),
            principal=principal,
            csrf="",
            status=status,
            message=message,
            title={401: "Not signed in", 403: "Refused", 404: "Not found"}.get(status, "Error"),
        )
        return self.templates.response(html, status)

    # -- pages ---------------------------------------------------------------------------------
    async def page(self, request: Request, fn: PageFn, *, post: bool = False) -> Response:
        found = self._identify(request)
        if isinstance(found, Response):
            return found
        base = self.base(request)
        if found is None:
            if post:
                return self._error(request, 401, "Sign in first: this action needs a session.")
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{base}/login?next={quote(target, safe='')}", 303)
        principal, session = found
        form: dict[str, str] = {}
        if post:
            data = await request.form()
            form = {k: v for k, v in data.items() if isinstance(v, str)}
            if session is not None and not SessionSigner.csrf_ok(session, form.get("csrf")):
                return self._error(
                    request,
                    403,
                    "The form's CSRF token is missing or stale: reload the page.",
                    principal,
                )
        query: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            query.setdefault(key, []).append(value)
        ctx = PageContext(
            ws=self.ws,
            principal=principal,
            session=session,
            base=base,
            path=request.url.path,
            path_params={k: str(v) for k, v in request.path_params.items()},
            query=query,
            form=form,
            deployments=self.deployments,
        )
        rid = request.headers.get("x-request-id", "")
        rid = rid if rid.isascii() and rid.replace("-", "").isalnum() and len(rid) <= 64 else ""
        return await run_in_threadpool(self._run, ctx, fn, rid or None)

    def _run(self, ctx: PageContext, fn: PageFn, request_id: str | None) -> Response:
        status, message = 500, "Something went wrong on the server; the error was logged."
        started = time.perf_counter()
        try:
            with request_scope(request_id, principal=ctx.principal, authenticated=ctx.principal):
                result = fn(ctx)
                if isinstance(result, Response):
                    return result
                html = self.templates.render(
                    result.template,
                    base=ctx.base,
                    principal=ctx.principal,
                    csrf=ctx.csrf,
                    path=ctx.path,
                    **result.values,
                )
                response = self.templates.response(html, result.status)
                # the server's time for the page (services + rendering), for people and benchmarks
                elapsed = (time.perf_counter() - started) * 1000
                response.headers["Server-Timing"] = f"app;dur={elapsed:.1f}"
                return response
        except PermissionDeniedError as exc:
            status, message = 403, str(exc)
        except NotFoundError as exc:
            status, message = 404, str(exc)
        except InvalidInputError as exc:
            status, message = 400, str(exc)
        except (ConflictError, PolicyViolationError) as exc:
            status, message = 409, str(exc)
        except FalajError as exc:
            status, message = 500, str(exc)
            _log.warning("page %s failed: %s", ctx.path, exc)
        except Exception:
            _log.exception("page %s failed", ctx.path)
        html = self.templates.render(
            "error.html",
            base=ctx.base,
            principal=ctx.principal,
            csrf=ctx.csrf,
            status=status,
            message=message,
            title={403: "Refused", 404: "Not found", 400: "Invalid input"}.get(status, "Error"),
        )
        return self.templates.response(html, status)

    # -- login ---------------------------------------------------------------------------------
    def _safe_next(self, base: str, target: str) -> str:
        if target.startswith(f"{base}/") and not target.startswith("//") and "\\" not in target:
            return target
        return f"{base}/runs"

    def _login_form(
        self, request: Request, next_url: str, error: str = "", status: int = 200
    ) -> Response:
        nonce = secrets.token_urlsafe(16)
        html = self.templates.render(
            "login.html",
            title="Sign in",
            base=self.base(request),
            principal=None,
            csrf="",
            login_nonce=nonce,
            next_url=next_url,
            error=error,
        )
        response = self.templates.response(html, status)
        response.set_cookie(
            LOGIN_COOKIE,
            nonce,
            max_age=900,
            path=self.base(request) or "/",
            httponly=True,
            samesite="strict",
            secure=self.secure_cookies,
        )
        return response

    def _signed_in(self, request: Request, principal: Principal, next_url: str) -> Response:
        value, session = self.signer.issue(principal, self.clock())
        response = RedirectResponse(next_url, 303)
        response.set_cookie(
            COOKIE,
            value,
            max_age=int(self.signer.ttl.total_seconds()),
            path=self.base(request) or "/",
            httponly=True,
            samesite="strict",
            secure=self.secure_cookies,
        )
        response.delete_cookie(LOGIN_COOKIE, path=self.base(request) or "/")
        _log.info("ui session opened for %s until %s", principal, session.expires_at.isoformat())
        return response

    async def login(self, request: Request) -> Response:
        base = self.base(request)
        if request.method == "GET":
            next_url = self._safe_next(base, request.query_params.get("next", ""))
            token = request.query_params.get("token")
            if token:  # the link `falaj ui` prints (like Jupyter's)
                try:
                    principal = await run_in_threadpool(self.authenticator.authenticate, token)
                except PermissionDeniedError as exc:
                    return self._login_form(request, next_url, str(exc), 401)
                return self._signed_in(request, principal, next_url)
            return self._login_form(request, next_url)
        form = await request.form()
        next_url = self._safe_next(base, str(form.get("next", "")))
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not nonce or not secrets.compare_digest(nonce, str(form.get("login_nonce", ""))):
            return self._login_form(request, next_url, "The login form expired: try again.", 403)
        try:
            principal = await run_in_threadpool(
                self.authenticator.authenticate, str(form.get("token", ""))
            )
        except PermissionDeniedError as exc:
            return self._login_form(request, next_url, str(exc), 401)
        return self._signed_in(request, principal, next_url)

    async def logout(self, request: Request) -> Response:
        found = self._identify(request)
        form = await request.form()
        if (
            isinstance(found, tuple)
            and found[1] is not None
            and not SessionSigner.csrf_ok(found[1], str(form.get("csrf", "")))
        ):
            return self._error(request, 403, "The form's CSRF token is missing or stale.")
        response = RedirectResponse(f"{self.base(request)}/login", 303)
        response.delete_cookie(COOKIE, path=self.base(request) or "/")
        return response


def create_ui_app(
    workspace: Workspace,
    authenticator: Authenticator,
    *,
    secret: bytes | None = None,
    deployments: DeploymentsSource | None = None,
    session_ttl: dt.timedelta = dt.timedelta(hours=8),
    clock: Callable[[], dt.datetime] = _utcnow,
    secure_cookies: bool = False,
) -> Starlette:
    """The UI as an ASGI app, to mount at ``/ui``.

    ``secret`` signs session cookies (random per process when omitted: sessions end when the
    process does; give the same secret to every replica behind one address).
    ``deployments`` is serving's and monitoring's view (``None``: the deployments page says
    serving is not enabled). ``secure_cookies`` marks cookies ``Secure`` (behind HTTPS).
    """
    from starlette.staticfiles import StaticFiles

    from falaj.ui import pages_data, pages_models, pages_ops, pages_runs

    signer = SessionSigner(secret or secrets.token_bytes(32), ttl=session_ttl)
    ui = _UI(workspace, authenticator, signer, deployments, clock, secure_cookies)

    def view(fn: PageFn, *, post: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await ui.page(request, fn, post=post)

        return endpoint

    async def home(request: Request) -> Response:
        return RedirectResponse(f"{ui.base(request)}/runs", 303)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    static = StaticFiles(packages=[("falaj.ui", "static")])
    routes: list[BaseRoute] = [
        Route("/", home),
        Route("/healthz", health),
        Route("/login", ui.login, methods=["GET", "POST"]),
        Route("/logout", ui.logout, methods=["POST"]),
        Mount("/static", app=static, name="static"),
        Route("/runs", view(pages_runs.runs_page)),
        Route("/runs/compare", view(pages_runs.compare_page)),
        Route("/runs/{run_id}", view(pages_runs.run_page)),
        Route("/datasets", view(pages_data.datasets_page)),
        Route("/datasets/{name}", view(pages_data.dataset_page)),
        Route("/models", view(pages_models.models_page)),
        Route("/models/{name}", view(pages_models.model_page)),
        Route("/models/{name}/versions/{version:int}", view(pages_models.version_page)),
        Route(
            "/models/{name}/versions/{version:int}/approve",
            view(pages_models.approve_action, post=True),
            methods=["POST"],
        ),
        Route("/deployments", view(pages_ops.deployments_page)),
        Route("/deployments/{name}", view(pages_ops.deployment_page)),
        Route("/audit", view(pages_ops.audit_page)),
        Route("/artifacts/{digest}", view(pages_ops.artifact_view)),
    ]
    return Starlette(routes=routes)
