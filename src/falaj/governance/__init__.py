"""Governance: principals, the request scope, the authorization seam, the audit ledger (chained,
tamper-evident) and the service seam; model signing, key management, residency and the
compliance report (issue 16, see docs/trust.md)."""

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
from falaj.governance.compliance import ComplianceReport
from falaj.governance.context import (
    Scope,
    current_principal,
    current_request_id,
    current_scope,
    machinery,
    request_scope,
)
from falaj.governance.errors import ResidencyViolationError, SignatureError, TamperedError
from falaj.governance.kms import FileKeyProvider, KeyProvider
from falaj.governance.ledger import AuditKey, ChainProblem, ChainReport, Checkpoint
from falaj.governance.principal import Principal
from falaj.governance.residency import ResidencyPolicy
from falaj.governance.service import Mutation, Service, ServiceContext
from falaj.governance.signing import Ed25519FileSigner, SignatureCheck, Signer, TrustedKeys

__all__ = [
    "BUILTIN_ROLES",
    "Action",
    "Actor",
    "AllowAll",
    "AuditEvent",
    "AuditKey",
    "AuditLog",
    "Authorizer",
    "Binding",
    "ChainProblem",
    "ChainReport",
    "Checkpoint",
    "ComplianceReport",
    "DenyAll",
    "Ed25519FileSigner",
    "FileKeyProvider",
    "KeyProvider",
    "LocalOwnerPolicy",
    "Mutation",
    "Principal",
    "ResidencyPolicy",
    "ResidencyViolationError",
    "Resource",
    "RoleBindingAuthorizer",
    "Scope",
    "Service",
    "ServiceContext",
    "SignatureCheck",
    "SignatureError",
    "Signer",
    "TamperedError",
    "TrustedKeys",
    "current_principal",
    "current_request_id",
    "current_scope",
    "machinery",
    "record_event",
    "request_scope",
]
