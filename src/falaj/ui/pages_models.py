"""Models: the list, one model (versions, aliases and their history, promotions), one version
(gate report with evidence, approvals, reports, lineage) and the approve action."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import RedirectResponse, Response

from falaj.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from falaj.governance.authorization import Action, Resource
from falaj.lineage import Node
from falaj.ui.app import PageContext
from falaj.ui.charts import lineage_svg
from falaj.ui.links import node_href
from falaj.ui.rendering import Page

__all__ = ["approve_action", "model_page", "models_page", "version_page"]

_MAX_COMMENT = 2000


def models_page(ctx: PageContext) -> Page:
    return Page("models.html", {"title": "Models", "models": ctx.ws.registry.list_models()})


def model_page(ctx: PageContext) -> Page:
    name = ctx.path_params["name"]
    model = ctx.ws.registry.get_model(name)
    try:
        policy = ctx.ws.registry.policy(name)
    except NotFoundError:
        policy = None
    return Page(
        "model.html",
        {
            "title": f"Model {name}",
            "model": model,
            "versions": ctx.ws.registry.list_versions(name),
            "history": list(reversed(ctx.ws.registry.alias_history(name))),
            "promotions": ctx.ws.registry.promotions(name),
            "policy": policy,
        },
    )


def may(ctx: PageContext, action: Action, resource: Resource) -> bool:
    """Ask the workspace's authorizer whether the caller may do ``action`` (to decide which
    controls to show; the service still decides when the action is taken)."""
    try:
        ctx.ws.context().authorizer.authorize(ctx.principal, action, resource)
    except PermissionDeniedError:
        return False
    return True


def _lineage(ctx: PageContext, name: str, version: int) -> Any:
    focus = Node("model_version", f"{name}/{version}")
    edges = ctx.ws.lineage.upstream(focus) + ctx.ws.lineage.downstream(focus)
    rows = sorted({(e.source.kind, e.source.id, e.target.kind, e.target.id, e.relation)
                   for e in edges})  # fmt: skip
    nodes = {(r[0], r[1]) for r in rows} | {(r[2], r[3]) for r in rows} | {(focus.kind, focus.id)}
    links = {n: h for n in nodes if (h := node_href(ctx.base, n[0], n[1])) is not None}
    svg = lineage_svg(
        rows, focus=(focus.kind, focus.id), links=links, title=f"lineage of {name} v{version}"
    )
    return svg, rows, links


def version_page(ctx: PageContext) -> Page:
    name = ctx.path_params["name"]
    version = int(ctx.path_params["version"])
    mv = ctx.ws.registry.get_version(name, version)
    try:
        report = ctx.ws.registry.check_gates(name, version)
        gate_error = ""
    except NotFoundError as exc:  # no policy set for this model
        report, gate_error = None, str(exc)
    evidence = ctx.ws.registry.evidence(name, version)
    svg, edges, links = _lineage(ctx, name, version)
    can_approve = mv.status == "READY" and may(
        ctx, Action.MODEL_APPROVE, Resource.model_version(name, version)
    )
    return Page(
        "version.html",
        {
            "title": f"{name} v{version}",
            "mv": mv,
            "report": report,
            "gate_error": gate_error,
            "approvals": ctx.ws.registry.approvals(name, version),
            "evidence": evidence,
            "lineage_svg": svg,
            "lineage_edges": edges,
            "lineage_links": links,
            "can_approve": can_approve,
            "approved": ctx.arg("approved") == "1",
            "run_href": node_href(ctx.base, "run", mv.run_id),
        },
    )


def approve_action(ctx: PageContext) -> Response:
    """POST: approve as the caller through the registry service (which refuses a viewer, the
    version's creator, or an approver without the policy's role, and audits the refusal)."""
    name = ctx.path_params["name"]
    version = int(ctx.path_params["version"])
    comment = ctx.form.get("comment", "").strip()
    if len(comment) > _MAX_COMMENT:
        raise InvalidInputError(
            f"comment is {len(comment)} characters long: at most {_MAX_COMMENT}"
        )
    ctx.ws.registry.approve(name, version, comment=comment)
    target = f"{ctx.base}/models/{quote(name, safe='')}/versions/{version}?approved=1"
    return RedirectResponse(target, 303)
