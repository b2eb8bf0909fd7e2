"""The audit ledger (``audit.read``: auditors and admins)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from falaj.server.auth import CallerDep
from falaj.server.routes.common import json_of

__all__ = ["router"]

router = APIRouter(tags=["audit"])

_Text = Annotated[str, Query(max_length=300)]


@router.get("/audit")
def list_events(
    caller: CallerDep,
    principal: _Text | None = None,
    action: _Text | None = None,
    resource_type: _Text | None = None,
    resource_id: _Text | None = None,
    outcome: Literal["success", "failure", "denied"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Events matching every given filter, newest first (``action`` ending in ``*``: prefix)."""
    with caller:
        events = caller.ws.audit.list(
            principal=principal,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            outcome=outcome,
            limit=limit,
        )
        return json_of(events)
