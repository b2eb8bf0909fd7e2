"""Users, role bindings and API tokens (admin only), and ``/whoami`` (anyone authenticated)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from falaj.server.auth import CallerDep
from falaj.server.routes.common import Name, json_of

__all__ = ["router"]

router = APIRouter(tags=["identity"])

TokenId = Annotated[str, Path(min_length=1, max_length=40)]
_Scope = Annotated[str, Field(min_length=1, max_length=300)]


class UserIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["user", "service"] = "user"
    role: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    project: _Scope | None = None
    resource: _Scope | None = None


class BindingIn(BaseModel):
    role: Annotated[str, Field(min_length=1, max_length=100)]
    project: _Scope | None = None
    resource: _Scope | None = None


class TokenIn(BaseModel):
    user: Annotated[str, Field(min_length=1, max_length=200)]
    expires: Annotated[str, Field(min_length=2, max_length=20)] | None = "30d"
    scopes: Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=20)] | None = (
        None
    )
    description: Annotated[str, Field(max_length=500)] | None = None


@router.get("/whoami")
def whoami(caller: CallerDep) -> Any:
    p = caller.principal
    scopes = getattr(p, "scopes", None)
    return {
        "name": p.name,
        "kind": p.kind,
        "roles": sorted(p.roles),
        "scopes": sorted(scopes) if scopes is not None else None,
    }


@router.get("/users")
def list_users(caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.identity.list_users())


@router.post("/users", status_code=201)
def create_user(body: UserIn, caller: CallerDep) -> Any:
    with caller:
        user = caller.ws.identity.create_user(
            body.name, role=body.role, kind=body.kind, project=body.project, resource=body.resource
        )
        return json_of(user)


@router.get("/users/{name}")
def get_user(name: Name, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.identity.get_user(name))


@router.post("/users/{name}/deactivate")
def deactivate_user(name: Name, caller: CallerDep) -> Any:
    """The user's tokens stop working on the next request."""
    with caller:
        return json_of(caller.ws.identity.set_active(name, False))


@router.post("/users/{name}/activate")
def activate_user(name: Name, caller: CallerDep) -> Any:
    with caller:
        return json_of(caller.ws.identity.set_active(name, True))


@router.post("/users/{name}/roles", status_code=201)
def bind_role(name: Name, body: BindingIn, caller: CallerDep) -> Any:
    with caller:
        binding = caller.ws.identity.bind(
            name, body.role, project=body.project, resource=body.resource
        )
        return json_of(binding)


@router.get("/tokens")
def list_tokens(
    caller: CallerDep, user: Annotated[str, Query(max_length=200)] | None = None
) -> Any:
    with caller:
        return json_of(caller.ws.identity.list_tokens(user))


@router.post("/tokens", status_code=201)
def create_token(body: TokenIn, caller: CallerDep) -> Any:
    """A new token; its text is in this answer only (``token``), never shown again."""
    with caller:
        info, text = caller.ws.identity.create_token(
            body.user, expires=body.expires, scopes=body.scopes, description=body.description
        )
        return {**json_of(info), "token": text}


@router.delete("/tokens/{token_id}")
def revoke_token(token_id: TokenId, caller: CallerDep) -> Any:
    """Revoke a token: the next request carrying it gets 401."""
    with caller:
        return json_of(caller.ws.identity.revoke_token(token_id))
