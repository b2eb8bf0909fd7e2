"""The principal a credential proves, and the policy the server authorizes it with.

A token's scopes *narrow* what its user may do: :class:`ScopedPrincipal` carries them, and
:class:`StoredRoleAuthorizer` allows an action only when a role the user holds grants it *and*
one of the token's scope roles grants it (an admin's token scoped to ``viewer`` reads, and does
nothing else). The authorizer reads
the role bindings from the store on every decision (one indexed read), so a removed binding or a
narrowed role stops working on the very next request; nothing is cached.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from falaj.errors import PermissionDeniedError
from falaj.governance.authorization import (
    BUILTIN_ROLES,
    Action,
    Binding,
    Resource,
    RoleBindingAuthorizer,
)
from falaj.governance.identity_tables import role_bindings
from falaj.governance.principal import Principal
from falaj.store.metadata_store import MetadataStore

__all__ = ["ScopedPrincipal", "StoredRoleAuthorizer"]


@dataclass(frozen=True)
class ScopedPrincipal(Principal):
    """A principal whose credential may use only ``scopes`` (role names); ``None``: no limit."""

    scopes: frozenset[str] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.scopes is not None:
            object.__setattr__(self, "scopes", frozenset(self.scopes))


class StoredRoleAuthorizer:
    """Role-based access control over the bindings stored in the workspace; default deny."""

    def __init__(self, store: MetadataStore) -> None:
        self._store = store

    def bindings(self) -> list[Binding]:
        with self._store.read() as conn:
            rows = conn.execute(
                sa.select(role_bindings.c.subject, role_bindings.c.role, role_bindings.c.scope)
            ).all()
        return [Binding(r.subject, r.role, r.scope) for r in rows if r.role in BUILTIN_ROLES]

    def roles_of(self, principal: Principal, resource: Resource) -> set[str]:
        return RoleBindingAuthorizer(self.bindings()).roles_of(principal, resource)

    def authorize(self, principal: Principal, action: Action, resource: Resource) -> None:
        """Allowed when a role held on ``resource`` grants ``action`` and, for a scoped
        credential, one of its scope roles grants it too (scopes narrow, never widen)."""
        held = self.roles_of(principal, resource)
        scopes = getattr(principal, "scopes", None)
        granted = any(action in BUILTIN_ROLES[role] for role in held)
        in_scope = scopes is None or any(
            action in BUILTIN_ROLES.get(role, frozenset()) for role in scopes
        )
        if granted and in_scope:
            return
        limit = f"; the credential is limited to {', '.join(sorted(scopes))}" if scopes else ""
        raise PermissionDeniedError(
            f"{principal} may not {action.value} on {resource}: no role grants it "
            f"(roles held: {', '.join(sorted(held)) or 'none'}{limit})"
        )
