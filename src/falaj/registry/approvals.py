"""Approvals with separation of duties: the creator of a version never approves it, and the
approver must hold the role the model's policy names.

An approval records what it was given under (policy revision, model digest, evidence seen; see
:mod:`falaj.registry.basis`). The same principal may approve again once that basis has changed
(a new policy revision, later evidence), never twice on the same basis.

The approver is the principal the call acts for (the request scope's): in embedded mode the OS
user, or the principal given to ``ws.as_principal``/``falaj approve --as``; in server mode the
token's identity. Separation of duties judges both the acted-as principal and the identity that
really authenticated: the version's creator acting as someone else is refused, not just recorded.
Names compare case-insensitively.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from falaj.errors import AlreadyExistsError, InvalidInputError, PolicyViolationError
from falaj.governance.authorization import Action
from falaj.registry import queries as q
from falaj.registry.basis import judged_evidence, same_principal, stale_reason
from falaj.registry.errors import SelfApprovalError
from falaj.registry.models import Approval, check_model_name
from falaj.registry.promotion import current_policy
from falaj.registry.tables import model_approvals
from falaj.store.schema import new_id, utcnow

if TYPE_CHECKING:
    from falaj.registry.service import RegistryService

__all__ = ["approve"]


def approve(
    service: RegistryService,
    name: str,
    version: int | str,
    *,
    comment: str,
    attested_by: str | None = None,
) -> Approval:
    check_model_name(name)
    if not isinstance(comment, str) or not comment.strip():
        raise InvalidInputError(
            f"comment {comment!r} is invalid: an approval needs a comment saying what was reviewed"
        )
    actor = service.actor()
    principal = actor.principal
    attesters = {actor.authenticated.name} if actor.impersonating else set()
    if attested_by is not None:
        attesters.add(attested_by)
    details: dict[str, object] = {"comment": comment, "roles": sorted(principal.roles)}
    if attesters:
        details["attested_by"] = ", ".join(sorted(attesters))
    with service.mutation(
        Action.MODEL_APPROVE, "model_version", f"{name}/{version}", details=details, actor=actor
    ) as m:
        mv = q.resolve_version(m.conn, name, version)
        m.resource_id = mv.ref
        q.require_status(mv, "approve", ("READY",))
        if same_principal(principal.name, mv.created_by):
            raise SelfApprovalError(
                f"{principal.name} created model {name!r} version {mv.version} and so may not "
                "approve it (separation of duties): a second principal must approve"
            )
        for who in attesters:
            if same_principal(who, mv.created_by):
                raise SelfApprovalError(
                    f"{who} created model {name!r} version {mv.version} and may not approve it "
                    f"by acting as {principal.name} (separation of duties): the approval must "
                    "come from a second authenticated identity"
                )
        policy = current_policy(m.conn, name, required=False)
        if policy is not None and policy.approvals is not None and policy.approvals.role:
            role = policy.approvals.role
            if role not in principal.roles:
                held = ", ".join(sorted(principal.roles)) or "no roles"
                raise PolicyViolationError(
                    f"{principal.name} ({held}) may not approve model {name!r}: its policy "
                    f"requires the role {role!r}"
                )
        revision = policy.revision if policy is not None and policy.revision else 0
        evidence = q.evidence_of(m.conn, name, mv.version)
        for earlier in q.approvals_of(m.conn, name, mv.version):
            if not same_principal(earlier.approver, principal.name):
                continue
            if stale_reason(
                earlier,
                policy_revision=revision,
                model_digest=mv.artifact_digest,
                evidence=evidence,
            ):
                continue  # given on an older basis: a new approval replaces it
            raise AlreadyExistsError(
                f"{principal.name} has already approved model {name!r} version {mv.version} "
                f"under policy revision {revision} and the evidence attached so far"
            )
        seen = len(judged_evidence(evidence))
        approval = Approval(
            id=new_id(),
            name=name,
            version=mv.version,
            approver=principal.name,
            roles=tuple(sorted(principal.roles)),
            comment=comment,
            created_at=utcnow(),
            policy_revision=revision,
            model_digest=mv.artifact_digest,
            evidence_seen=seen,
        )
        insert = sa.insert(model_approvals).values(
            id=approval.id,
            name=name,
            version=mv.version,
            approver=approval.approver,
            roles=list(approval.roles),
            comment=comment,
            created_at=approval.created_at,
            policy_revision=revision,
            model_digest=mv.artifact_digest,
            evidence_seen=seen,
        )
        try:
            m.conn.execute(insert)
        except sa.exc.IntegrityError as exc:  # a concurrent approval by the same principal
            raise AlreadyExistsError(
                f"{principal.name} has already approved model {name!r} version {mv.version}"
            ) from exc
        m.details.update(approval_id=approval.id, policy_revision=revision, evidence_seen=seen)
        return approval
