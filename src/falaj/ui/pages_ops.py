"""Operations: the audit ledger with filters, deployments (through :class:`DeploymentsSource`),
and stored artifacts (reports, model cards) served safely."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.responses import Response

from falaj.errors import InvalidInputError, NotFoundError
from falaj.ui.app import PageContext
from falaj.ui.charts import Series, line_chart
from falaj.ui.rendering import Page

__all__ = ["artifact_view", "audit_page", "deployment_page", "deployments_page"]

OUTCOMES = ("success", "denied", "failure")
LIMITS = (50, 100, 500)
_MAX_ARTIFACT = 64 * 1024 * 1024
#: media types shown in the browser; anything else is downloaded
_INLINE = ("text/html", "text/plain", "application/json", "image/png", "image/svg+xml")


def _parse_time(field: str, text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"{field} {text!r} is invalid: expected an ISO date or date-time (2026-12-01T09:30)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def audit_page(ctx: PageContext) -> Page:
    """``/ui/audit?principal=&action=&resource_type=&resource_id=&outcome=&since=&until=``"""
    filters = {k: ctx.arg(k) for k in
               ("principal", "action", "resource_type", "resource_id", "outcome", "since",
                "until", "limit")}  # fmt: skip
    if filters["outcome"] and filters["outcome"] not in OUTCOMES:
        raise InvalidInputError(
            f"outcome {filters['outcome']!r} is invalid: expected one of {', '.join(OUTCOMES)}"
        )
    limit = int(filters["limit"]) if filters["limit"].isdigit() else 100
    if limit not in LIMITS:
        raise InvalidInputError(
            f"limit {filters['limit']!r} is invalid: expected one of {', '.join(map(str, LIMITS))}"
        )
    since = _parse_time("since", filters["since"])
    until = _parse_time("until", filters["until"])
    events = ctx.ws.audit.list(
        principal=filters["principal"] or None,
        action=filters["action"] or None,
        resource_type=filters["resource_type"] or None,
        resource_id=filters["resource_id"] or None,
        outcome=filters["outcome"] or None,
        since=since,
        until=until,
        limit=limit,
    )
    return Page(
        "audit.html",
        {
            "title": "Audit",
            "events": events,
            "filters": filters,
            "outcomes": OUTCOMES,
            "limits": LIMITS,
            "limit": limit,
        },
    )


def deployments_page(ctx: PageContext) -> Page:
    if ctx.deployments is None:
        return Page("deployments.html", {"title": "Deployments", "enabled": False, "names": []})
    return Page(
        "deployments.html",
        {"title": "Deployments", "enabled": True, "names": ctx.deployments.names()},
    )


def deployment_page(ctx: PageContext) -> Page:
    name = ctx.path_params["name"]
    if ctx.deployments is None:
        return Page(
            "deployments.html",
            {"title": f"Deployment {name}", "enabled": False, "names": [], "asked": name},
            404,
        )
    snap = ctx.deployments.snapshot(name)
    start = min((p.at for p in snap.traffic), default=None)

    def minutes(at: dt.datetime) -> float:
        return (at - start).total_seconds() / 60 if start is not None else 0.0

    traffic = line_chart(
        [
            Series("requests", [(minutes(p.at), float(p.requests)) for p in snap.traffic]),
            Series("errors", [(minutes(p.at), float(p.errors)) for p in snap.traffic]),
        ],
        title=f"requests and errors of {name}",
        x_label="minutes",
    )
    latency = line_chart(
        [
            Series("p50 ms", [(minutes(p.at), p.latency_p50_ms) for p in snap.traffic]),
            Series("p95 ms", [(minutes(p.at), p.latency_p95_ms) for p in snap.traffic]),
        ],
        title=f"latency of {name}",
        x_label="minutes",
    )
    drift_start = min((p.at for p in snap.drift), default=None)
    features: dict[str, list[Any]] = {}
    for point in snap.drift:
        features.setdefault(point.feature, []).append(point)
    drift = []
    for feature, points in sorted(features.items()):
        assert drift_start is not None
        series = Series(
            feature,
            [((p.at - drift_start).total_seconds() / 3600, p.score) for p in points],
        )
        drift.append(
            {
                "feature": feature,
                "latest": points[-1],
                "svg": line_chart(
                    [series],
                    title=f"drift of {feature} over time",
                    x_label="hours",
                    threshold=points[-1].threshold,
                ),
            }
        )
    return Page(
        "deployment.html",
        {
            "title": f"Deployment {name}",
            "snap": snap,
            "traffic_svg": traffic,
            "latency_svg": latency,
            "drift": drift,
            "total_weight": sum(r.weight for r in snap.revisions) or 1.0,
        },
    )


def artifact_view(ctx: PageContext) -> Response:
    """A stored artifact's bytes (verified against its digest), sandboxed: an HTML report can
    show its charts but runs no script and reaches nothing."""
    digest = ctx.path_params["digest"]
    info = ctx.ws.artifacts.info(digest)
    if info.size > _MAX_ARTIFACT:
        raise NotFoundError(
            f"artifact {info.digest} is {info.size} bytes: too large to show here "
            "(download it with `falaj artifacts get`)"
        )
    media = info.media_type.split(";")[0].strip().lower()
    inline = media in _INLINE
    headers = {
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600, immutable",
        "Content-Disposition": "inline" if inline else f'attachment; filename="{info.digest[:16]}"',
    }
    return Response(
        ctx.ws.artifacts.get_bytes(info.digest),
        media_type=info.media_type if inline else "application/octet-stream",
        headers=headers,
    )
