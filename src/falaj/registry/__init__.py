"""The model registry: registered models, versions, aliases with full history, evidence,
promotion gates, approvals and promotions. Reached as ``ws.registry``."""

from falaj.registry.errors import (
    AliasNotFoundError,
    GatesFailedError,
    ModelNotFoundError,
    ModelVersionNotFoundError,
    PolicyNotFoundError,
    PolicyParseError,
    SelfApprovalError,
    VersionStateError,
)
from falaj.registry.gates import Condition, GateReport
from falaj.registry.models import (
    AliasMove,
    Approval,
    Evidence,
    ModelVersion,
    PromotionRecord,
    RegisteredModel,
)
from falaj.registry.policy import Policy, parse_policy
from falaj.registry.service import RegistryService

__all__ = [
    "AliasMove",
    "AliasNotFoundError",
    "Approval",
    "Condition",
    "Evidence",
    "GateReport",
    "GatesFailedError",
    "ModelNotFoundError",
    "ModelVersion",
    "ModelVersionNotFoundError",
    "Policy",
    "PolicyNotFoundError",
    "PolicyParseError",
    "PromotionRecord",
    "RegisteredModel",
    "RegistryService",
    "SelfApprovalError",
    "VersionStateError",
    "parse_policy",
]
