"""Governance: principals, authorization, the audit ledger and the service seam."""

from falaj.governance.audit import AuditEvent, AuditLog, record_event
from falaj.governance.authorization import Authorizer, LocalOwnerPolicy, RoleTable
from falaj.governance.context import current_request_id, request_scope
from falaj.governance.principal import Principal
from falaj.governance.service import Mutation, Service, ServiceContext

__all__ = [
    "AuditEvent",
    "AuditLog",
    "Authorizer",
    "LocalOwnerPolicy",
    "Mutation",
    "Principal",
    "RoleTable",
    "Service",
    "ServiceContext",
    "current_request_id",
    "record_event",
    "request_scope",
]
