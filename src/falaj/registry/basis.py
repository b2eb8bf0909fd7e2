"""What an approval is given under, and when it stops counting.

An approval binds to the basis it was given on: the policy revision in force (0 when the model
had no policy), the version's artifact digest, and the evidence a reviewer could see (the count
of evidence items attached so far, model cards aside: a card renders the other evidence and the
approvals, so writing it after an approval is expected and adds nothing new to judge). The gates
count an approval only while its basis still holds; :func:`stale_reason` says why one does not.
"""

from __future__ import annotations

from collections.abc import Sequence

from falaj.registry.models import Approval, Evidence

__all__ = ["CARD_KIND", "judged_evidence", "same_principal", "stale_reason"]

#: The evidence kind that renders the others (and the approvals) rather than adding to them.
CARD_KIND = "model_card"


def judged_evidence(evidence: Sequence[Evidence]) -> list[Evidence]:
    """The evidence items a reviewer judges (every kind but model cards), oldest first."""
    return [e for e in evidence if e.kind != CARD_KIND]


def same_principal(a: str, b: str) -> bool:
    """Principal names compare case-insensitively (``Alice`` is ``alice``)."""
    return a.casefold() == b.casefold()


def stale_reason(
    approval: Approval,
    *,
    policy_revision: int | None,
    model_digest: str,
    evidence: Sequence[Evidence],
) -> str | None:
    """Why ``approval`` no longer counts (None while it does)."""
    revision = policy_revision or 0
    if approval.policy_revision is None:
        return "recorded without its policy revision (before approvals were bound): approve again"
    if approval.policy_revision != revision:
        return (
            f"given under policy revision {approval.policy_revision}, the policy is now at "
            f"revision {revision}: a new revision needs new approvals"
        )
    if approval.model_digest is not None and approval.model_digest != model_digest:
        return (
            f"given for model digest {approval.model_digest[:12]}, the version is now "
            f"{model_digest[:12]}"
        )
    judged = judged_evidence(evidence)
    seen = approval.evidence_seen or 0
    if len(judged) > seen:
        later = ", ".join(f"{e.kind} {e.id[:8]}" for e in judged[seen:])
        return f"evidence attached after the approval ({later}): approve again"
    return None
