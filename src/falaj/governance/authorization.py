"""The authorization seam every service calls before it changes anything.

Embedded mode runs :class:`LocalOwnerPolicy`: the workspace belongs to the OS user who opened it,
so that user may do everything. Server mode swaps in role-based access control behind the same
:class:`Authorizer` protocol.
"""

from __future__ import annotations

from typing import Protocol

from falaj.errors import PermissionDeniedError
from falaj.governance.principal import Principal

__all__ = ["Authorizer", "LocalOwnerPolicy", "RoleTable"]


class Authorizer(Protocol):
    def check(self, principal: Principal, action: str, resource: str) -> None:
        """Return if ``principal`` may do ``action`` on ``resource``; else raise
        :class:`PermissionDeniedError`."""


class LocalOwnerPolicy:
    """Embedded mode: every local principal may act on its own workspace."""

    def check(self, principal: Principal, action: str, resource: str) -> None:
        return None


class RoleTable:
    """A static role → allowed action prefixes table (e.g. ``{"approver": ["model.approve"]}``).

    A principal may do an action when one of its roles lists a prefix of it; ``"*"`` allows all.
    """

    def __init__(self, grants: dict[str, list[str]]) -> None:
        self._grants = {role: tuple(prefixes) for role, prefixes in grants.items()}

    def check(self, principal: Principal, action: str, resource: str) -> None:
        for role in principal.roles:
            for prefix in self._grants.get(role, ()):
                if prefix == "*" or action.startswith(prefix):
                    return
        roles = ", ".join(sorted(principal.roles)) or "no roles"
        raise PermissionDeniedError(f"{principal} ({roles}) may not {action} on {resource}")
