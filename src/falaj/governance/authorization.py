"""The one authorization seam: ``authorize(principal, action, resource)``.

Every public call of every service, read or write, asks the workspace's :class:`Authorizer`
before it has any side effect (no bytes stored, no row written on refusal). Actions are a closed
set (:class:`Action`, named ``area.verb``) matched exactly: being allowed ``run.log`` grants
nothing else. Resources are typed (:class:`Resource`), with one spelling per kind
(``model_version`` ids are ``NAME/VERSION`` everywhere).

Two policies ship:

- :class:`LocalOwnerPolicy`: embedded mode. The workspace belongs to whoever can open its files
  (the OS user), so every action is allowed; who acted is still recorded per call.
- :class:`RoleBindingAuthorizer`: the server's policy. Roles map to exact action sets
  (:data:`BUILTIN_ROLES`); bindings give a subject a role on everything, on a project or on one
  resource. Anything not granted is denied (default deny).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from falaj.errors import InvalidInputError, PermissionDeniedError
from falaj.governance.principal import Principal

__all__ = [
    "BUILTIN_ROLES",
    "READ_ACTIONS",
    "Action",
    "AllowAll",
    "Authorizer",
    "Binding",
    "DenyAll",
    "LocalOwnerPolicy",
    "Resource",
    "RoleBindingAuthorizer",
]


class Action(StrEnum):
    """Every action a principal can be allowed; the audit trail records these names."""

    WORKSPACE_INIT = "workspace.init"
    AUDIT_READ = "audit.read"
    ARTIFACT_PUT = "artifact.put"
    ARTIFACT_READ = "artifact.read"
    ARTIFACT_VERIFY = "artifact.verify"
    ARTIFACT_GC = "artifact.gc"
    LINEAGE_RECORD = "lineage.record"
    LINEAGE_READ = "lineage.read"
    EXPERIMENT_CREATE = "experiment.create"
    EXPERIMENT_READ = "experiment.read"
    RUN_CREATE = "run.create"
    RUN_LOG = "run.log"
    RUN_LOG_ARTIFACT = "run.log_artifact"
    RUN_LOG_MODEL = "run.log_model"
    RUN_LOG_DATASET = "run.log_dataset"
    RUN_END = "run.end"
    RUN_IMPORT = "run.import"
    RUN_READ = "run.read"
    MODEL_VERSION_CREATE = "model.version.create"
    MODEL_UPDATE = "model.update"
    MODEL_VERSION_UPDATE = "model.version.update"
    MODEL_VERSION_TAG_SET = "model.version.tag.set"
    MODEL_VERSION_TAG_DELETE = "model.version.tag.delete"
    MODEL_VERSION_ARCHIVE = "model.version.archive"
    MODEL_VERSION_RESTORE = "model.version.restore"
    MODEL_VERSION_DELETE = "model.version.delete"
    MODEL_ALIAS_SET = "model.alias.set"
    MODEL_ALIAS_DELETE = "model.alias.delete"
    MODEL_EVIDENCE_ATTACH = "model.evidence.attach"
    MODEL_POLICY_SET = "model.policy.set"
    MODEL_APPROVE = "model.approve"
    MODEL_PROMOTE = "model.promote"
    MODEL_READ = "model.read"
    MODEL_LOAD = "model.load"
    DATASET_REGISTER = "dataset.register"
    DATASET_VALIDATE = "dataset.validate"
    DATASET_CLASSIFY = "dataset.classify"
    DATASET_READ = "dataset.read"
    PIPELINE_RUN_START = "pipeline.run.start"
    PIPELINE_RUN_FINISH = "pipeline.run.finish"
    PIPELINE_RUN_RESUME = "pipeline.run.resume"
    PIPELINE_STEP_RECORD = "pipeline.step.record"
    PIPELINE_STEP_START = "pipeline.step.start"
    PIPELINE_STEP_LOGS = "pipeline.step.logs"
    PIPELINE_READ = "pipeline.read"
    SCHEDULE_CREATE = "schedule.create"
    SCHEDULE_ENABLE = "schedule.enable"
    SCHEDULE_DISABLE = "schedule.disable"
    SCHEDULE_CLAIM = "schedule.claim"
    SCHEDULE_RUN = "schedule.run"
    SCHEDULE_READ = "schedule.read"
    TRAINING_SEARCH = "training.search"
    TRAINING_EVALUATION = "training.evaluation"
    TRAINING_FAIRNESS = "training.fairness"
    TRAINING_EXPLANATION = "training.explanation"
    TRAINING_MODEL_CARD = "training.model_card"
    # identity (users, role bindings, API tokens): admin only
    USER_CREATE = "user.create"
    USER_READ = "user.read"
    USER_UPDATE = "user.update"
    TOKEN_CREATE = "token.create"
    TOKEN_READ = "token.read"
    TOKEN_REVOKE = "token.revoke"
    # -- trust (issue 16): audit chain, signed models, keys, residency, compliance ------------
    AUDIT_VERIFY = "audit.verify"
    AUDIT_EXPORT = "audit.export"
    AUDIT_CHECKPOINT = "audit.checkpoint"
    MODEL_SIGN = "model.sign"
    MODEL_VERIFY = "model.verify"
    KEY_ROTATE = "key.rotate"
    KEY_SHRED = "key.shred"
    KEY_READ = "key.read"
    DATASET_EXPORT = "dataset.export"
    COMPLIANCE_REPORT = "compliance.report"
    # -- end trust ----------------------------------------------------------------------------
    # monitoring
    MONITORING_LOG = "monitoring.log"
    MONITORING_FEEDBACK = "monitoring.feedback"
    MONITORING_EVALUATE = "monitoring.evaluate"
    MONITORING_RETENTION = "monitoring.retention"
    MONITORING_READ = "monitoring.read"
    MONITOR_CREATE = "monitor.create"
    MONITOR_RUN = "monitor.run"
    # end monitoring
    # features
    FEATURE_APPLY = "feature.apply"
    FEATURE_READ = "feature.read"
    FEATURE_MATERIALIZE = "feature.materialize"
    FEATURE_ONLINE_READ = "feature.online_read"
    # serving
    DEPLOYMENT_CREATE = "deployment.create"
    DEPLOYMENT_UPDATE = "deployment.update"
    DEPLOYMENT_READ = "deployment.read"
    DEPLOYMENT_ROLLOUT = "deployment.rollout"
    DEPLOYMENT_REPORT = "deployment.report"
    # end serving

    @classmethod
    def parse(cls, value: str | Action) -> Action:
        """An action from its name, or a clear error listing the valid ones."""
        if isinstance(value, Action):
            return value
        try:
            return cls(value)
        except ValueError:
            raise InvalidInputError(
                f"action {str(value)[:100]!r} is unknown: expected one of "
                f"{', '.join(a.value for a in cls)}"
            ) from None


#: Actions that change nothing (the rest write).
READ_ACTIONS: frozenset[Action] = frozenset(
    a for a in Action if a.value.endswith((".read", "_read", ".verify", ".load"))
)

_KIND_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz_")


@dataclass(frozen=True)
class Resource:
    """What an action is done to: a kind (``model_version``) and an id (``credit/3``).

    ``project`` names the project the resource belongs to, when it has one, so bindings can be
    scoped per project.
    """

    kind: str
    id: str
    project: str | None = None

    def __post_init__(self) -> None:
        if not self.kind or not set(self.kind) <= _KIND_CHARS:
            raise InvalidInputError(f"resource kind {self.kind!r} is invalid: expected a-z and _")
        if not isinstance(self.id, str):
            raise InvalidInputError(f"resource id {self.id!r} is invalid: expected text")

    @classmethod
    def model_version(cls, name: str, version: int | str) -> Resource:
        """The one spelling of a model version: ``model_version:NAME/VERSION``."""
        return cls("model_version", f"{name}/{version}")

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


class Authorizer(Protocol):
    """Decides whether ``principal`` may do ``action`` on ``resource``."""

    def authorize(self, principal: Principal, action: Action, resource: Resource) -> None:
        """Return when allowed; raise :class:`PermissionDeniedError` naming what was refused."""


def _denied(principal: Principal, action: Action, resource: Resource, why: str) -> None:
    raise PermissionDeniedError(f"{principal} may not {action.value} on {resource}: {why}")


class LocalOwnerPolicy:
    """Embedded mode: the OS user who can open the workspace's files owns it and may do anything.

    Who acted is still recorded per call; separation-of-duties checks still apply.
    """

    def authorize(self, principal: Principal, action: Action, resource: Resource) -> None:
        return None


class AllowAll:
    """Allows everything (tests and single-user tools that want it explicitly)."""

    def authorize(self, principal: Principal, action: Action, resource: Resource) -> None:
        return None


class DenyAll:
    """Refuses everything."""

    def authorize(self, principal: Principal, action: Action, resource: Resource) -> None:
        _denied(principal, action, resource, "every action is denied")


def _actions(values: Iterable[Action]) -> frozenset[Action]:
    return frozenset(values)


_READ = _actions(
    [
        Action.ARTIFACT_READ,
        Action.LINEAGE_READ,
        Action.EXPERIMENT_READ,
        Action.RUN_READ,
        Action.MODEL_READ,
        Action.DATASET_READ,
        Action.PIPELINE_READ,
        Action.SCHEDULE_READ,
        # monitoring
        Action.MONITORING_READ,
        # features
        Action.FEATURE_READ,
        Action.FEATURE_ONLINE_READ,
        # serving
        Action.DEPLOYMENT_READ,
    ]
)
_TRACK = _actions(
    [
        Action.ARTIFACT_PUT,
        Action.LINEAGE_RECORD,
        Action.EXPERIMENT_CREATE,
        Action.RUN_CREATE,
        Action.RUN_LOG,
        Action.RUN_LOG_ARTIFACT,
        Action.RUN_LOG_MODEL,
        Action.RUN_LOG_DATASET,
        Action.RUN_END,
        Action.MODEL_LOAD,
        Action.DATASET_REGISTER,
        Action.DATASET_VALIDATE,
        Action.DATASET_CLASSIFY,
        Action.PIPELINE_RUN_START,
        Action.PIPELINE_RUN_FINISH,
        Action.PIPELINE_RUN_RESUME,
        Action.PIPELINE_STEP_RECORD,
        Action.PIPELINE_STEP_START,
        Action.PIPELINE_STEP_LOGS,
        Action.TRAINING_SEARCH,
        Action.TRAINING_EVALUATION,
        Action.TRAINING_FAIRNESS,
        Action.TRAINING_EXPLANATION,
        Action.TRAINING_MODEL_CARD,
        Action.MODEL_VERSION_CREATE,
        Action.MODEL_EVIDENCE_ATTACH,
        Action.MODEL_VERSION_TAG_SET,
        Action.MODEL_VERSION_TAG_DELETE,
        Action.MODEL_VERSION_UPDATE,
        # monitoring
        Action.MONITORING_FEEDBACK,
        Action.MONITORING_EVALUATE,
        # features
        Action.FEATURE_APPLY,
    ]
)
_ENGINEER = _actions(
    [
        Action.MODEL_UPDATE,
        Action.MODEL_VERSION_ARCHIVE,
        Action.MODEL_VERSION_RESTORE,
        Action.MODEL_ALIAS_SET,
        Action.MODEL_ALIAS_DELETE,
        Action.MODEL_POLICY_SET,
        Action.MODEL_PROMOTE,
        Action.ARTIFACT_VERIFY,
        Action.ARTIFACT_GC,
        Action.RUN_IMPORT,
        Action.SCHEDULE_CREATE,
        Action.SCHEDULE_ENABLE,
        Action.SCHEDULE_DISABLE,
        Action.SCHEDULE_CLAIM,
        Action.SCHEDULE_RUN,
        # monitoring
        Action.MONITORING_LOG,
        Action.MONITORING_RETENTION,
        Action.MONITOR_CREATE,
        Action.MONITOR_RUN,
        # features
        Action.FEATURE_MATERIALIZE,
        # serving
        Action.DEPLOYMENT_CREATE,
        Action.DEPLOYMENT_UPDATE,
        Action.DEPLOYMENT_ROLLOUT,
        Action.DEPLOYMENT_REPORT,
    ]
)
# serving: what a serving replica's service principal needs (load, read, report aggregates)
_MODEL_SERVER = _actions(
    [Action.DEPLOYMENT_READ, Action.DEPLOYMENT_REPORT, Action.MODEL_READ, Action.MODEL_LOAD]
)

# -- trust (issue 16) -------------------------------------------------------------------------
#: auditors verify, export and checkpoint the ledger, verify signatures, report compliance
_AUDITOR_TRUST = _actions(
    [
        Action.AUDIT_VERIFY,
        Action.AUDIT_EXPORT,
        Action.AUDIT_CHECKPOINT,
        Action.MODEL_VERIFY,
        Action.COMPLIANCE_REPORT,
        Action.KEY_READ,
    ]
)
#: data scientists export datasets (residency-checked)
_SCIENTIST_TRUST = _actions([Action.DATASET_EXPORT])
#: engineers sign (legacy, unsigned) versions and verify them; key management stays with admin
_ENGINEER_TRUST = _SCIENTIST_TRUST | {Action.MODEL_SIGN, Action.MODEL_VERIFY}
# -- end trust --------------------------------------------------------------------------------

#: The built-in roles and the exact actions each grants.
BUILTIN_ROLES: Mapping[str, frozenset[Action]] = {
    "viewer": _READ,
    "data-scientist": _READ | _TRACK | _SCIENTIST_TRUST,
    "ml-engineer": _READ | _TRACK | _ENGINEER | _ENGINEER_TRUST,
    "approver": _READ | {Action.MODEL_APPROVE},
    "auditor": _READ | {Action.AUDIT_READ, Action.ARTIFACT_VERIFY} | _AUDITOR_TRUST,
    "model-server": _MODEL_SERVER,  # serving
    "admin": frozenset(Action),
}


@dataclass(frozen=True)
class Binding:
    """``subject`` (a principal name, or ``group:NAME`` for a role carried by the principal)
    holds ``role`` on ``scope``: ``*`` (everything), ``project:NAME`` or ``KIND:ID``."""

    subject: str
    role: str
    scope: str = "*"

    def covers(self, resource: Resource) -> bool:
        if self.scope == "*":
            return True
        if self.scope.startswith("project:"):
            return resource.project is not None and self.scope[8:] == resource.project
        kind, _, ident = self.scope.partition(":")
        if kind == "model" and resource.kind == "model_version":
            return resource.id.startswith(f"{ident}/")  # a model's binding covers its versions
        if kind == "dataset" and resource.kind == "dataset_version":
            return resource.id.startswith(f"{ident}@")
        return self.scope == str(resource)


class RoleBindingAuthorizer:
    """Role-based access control with exact action sets and scoped bindings; default deny.

    A principal holds a role through a :class:`Binding` naming it, or through one of its own
    ``roles`` (from a token's scopes or an identity provider's groups), which applies everywhere.
    """

    def __init__(
        self,
        bindings: Iterable[Binding] = (),
        *,
        roles: Mapping[str, Iterable[Action | str]] | None = None,
    ) -> None:
        table = dict(BUILTIN_ROLES)
        for role, actions in (roles or {}).items():
            table[role] = frozenset(Action.parse(a) for a in actions)
        self._roles: dict[str, frozenset[Action]] = table
        self._bindings: list[Binding] = []
        for binding in bindings:
            if binding.role not in self._roles:
                raise InvalidInputError(
                    f"binding of {binding.subject!r}: role {binding.role!r} is unknown "
                    f"(roles: {', '.join(sorted(self._roles))})"
                )
            self._bindings.append(binding)

    @property
    def roles(self) -> Mapping[str, frozenset[Action]]:
        return dict(self._roles)

    def roles_of(self, principal: Principal, resource: Resource) -> set[str]:
        held = {r for r in principal.roles if r in self._roles}
        for binding in self._bindings:
            if binding.covers(resource) and (
                binding.subject.casefold() == principal.name.casefold()
                or (binding.subject.startswith("group:") and binding.subject[6:] in principal.roles)
            ):
                held.add(binding.role)
        return held

    def authorize(self, principal: Principal, action: Action, resource: Resource) -> None:
        held = self.roles_of(principal, resource)
        for role in held:
            if action in self._roles[role]:
                return
        _denied(
            principal,
            action,
            resource,
            f"no role grants it (roles held: {', '.join(sorted(held)) or 'none'})",
        )
