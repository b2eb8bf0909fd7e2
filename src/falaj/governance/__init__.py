"""Governance: principals, the request scope, the authorization seam, the audit ledger and the
service seam."""

from falaj.governance.audit import Actor, AuditEvent, record_event
from falaj.governance.audit_log import AuditLog
from falaj.governance.authorization import (
    BUILTIN_ROLES,
    Action,
    AllowAll,
    Authorizer,
    Binding,
    DenyAll,
    LocalOwnerPolicy,
    Resource,
    RoleBindingAuthorizer,
)
from falaj.governance.context import (
    Scope,
    current_principal,
    current_request_id,
    current_scope,
    machinery,
    request_scope,
)
from falaj.governance.principal import Principal
from falaj.governance.service import Mutation, Service, ServiceContext

__all__ = [
    "BUILTIN_ROLES",
    "Action",
    "Actor",
    "AllowAll",
    "AuditEvent",
    "AuditLog",
    "Authorizer",
    "Binding",
    "DenyAll",
    "LocalOwnerPolicy",
    "Mutation",
    "Principal",
    "Resource",
    "RoleBindingAuthorizer",
    "Scope",
    "Service",
    "ServiceContext",
    "current_principal",
    "current_request_id",
    "current_scope",
    "machinery",
    "record_event",
    "request_scope",
]
