"""Policies in force, gate checks and promotions with their change records.

A promotion runs in one transaction: lock the registered model, gather the evidence, evaluate the
policy, and only when every condition passes move the alias and write the change record
(requester, approvers, evidence, gates, risk, time). A refused promotion raises
:class:`GatesFailedError`: the transaction is rolled back and the audit trail gets a ``failure``
event carrying the gate report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import Connection

from falaj.errors import ConflictError, FalajError, InvalidInputError
from falaj.governance.authorization import Action
from falaj.governance.context import machinery
from falaj.lineage.graph import Node
from falaj.registry import queries as q
from falaj.registry.basis import stale_reason
from falaj.registry.errors import (
    AliasNotFoundError,
    GatesFailedError,
    PolicyNotFoundError,
    VersionStateError,
)
from falaj.registry.gates import GateInputs, GateReport, MetricSources, evaluate
from falaj.registry.models import (
    ModelVersion,
    PromotionRecord,
    check_alias,
    check_model_name,
)
from falaj.registry.policy import Policy, parse_policy
from falaj.registry.tables import model_policies, model_promotions
from falaj.store.schema import new_id, utcnow

if TYPE_CHECKING:
    from falaj.registry.service import RegistryService

__all__ = [
    "check_gates",
    "current_policy",
    "list_promotions",
    "promote",
    "set_policy",
]


def set_policy(service: RegistryService, name: str, text: str) -> Policy:
    check_model_name(name)
    policy = parse_policy(text, source=f"policy of {name!r}")
    with service.mutation(Action.MODEL_POLICY_SET, "model", name) as m:
        q.get_model_row(m.conn, name, lock=True)
        latest = m.conn.execute(
            sa.select(sa.func.max(model_policies.c.revision)).where(model_policies.c.name == name)
        ).scalar_one_or_none()
        current = current_policy(m.conn, name, required=False)
        if current is not None and current.revision and current.text == text:
            # the same text again (a CI job applying the policy on every push): no new
            # revision, so the approvals given under it keep counting
            m.details.update(revision=current.revision, risk=policy.risk, unchanged=True)
            return _with_revision(policy, current.revision)
        revision = int(latest or 0) + 1
        m.conn.execute(
            sa.insert(model_policies).values(
                name=name,
                revision=revision,
                text=text,
                created_by=m.actor.principal.name,
                created_at=utcnow(),
            )
        )
        m.details.update(revision=revision, risk=policy.risk)
    return _with_revision(policy, revision)


def current_policy(conn: Connection, name: str, *, required: bool) -> Policy | None:
    row = conn.execute(
        sa.select(model_policies.c.text, model_policies.c.revision)
        .where(model_policies.c.name == name)
        .order_by(model_policies.c.revision.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        if required:
            q.get_model_row(conn, name)
            raise PolicyNotFoundError(
                f"model {name!r} has no gate policy; set one with `falaj gate policy set "
                f"{name} FILE` or ws.registry.set_policy"
            )
        return None
    policy = parse_policy(row.text, source=f"policy of {name!r} (revision {row.revision})")
    return _with_revision(policy, int(row.revision))


def _with_revision(policy: Policy, revision: int) -> Policy:
    from dataclasses import replace

    return replace(policy, revision=revision)


@dataclass(frozen=True)
class _Outside:
    """What the gates need from other areas, gathered before any write transaction opens (a
    read through tracking flushes its writer; doing that inside our own write transaction would
    wait on ourselves)."""

    run_metrics: dict[str, tuple[dict[str, float] | None, str | None]]
    datasets: dict[str, str | None]
    datasets_error: str | None
    artifact_region: str | None
    validations: dict[str, list[Any]]


def _run_metrics(
    service: RegistryService, run_id: str
) -> tuple[dict[str, float] | None, str | None]:
    try:
        return dict(service.links.tracking().get_run(run_id).metrics), None
    except FalajError as exc:
        return None, str(exc)


def _validation_runs(service: RegistryService, ids: list[str]) -> dict[str, list[Any]]:
    """Every validation run (suite name, digest, check count) of each dataset, newest first."""
    datasets = service.links.datasets()
    if datasets is None:
        return {}
    try:
        return {i: list(datasets.validations(i)) for i in ids}
    except FalajError:
        return {}


def _input_datasets(
    service: RegistryService, run_id: str
) -> tuple[dict[str, str | None], str | None]:
    edges = service.links.lineage.upstream(Node("run", run_id), max_depth=1)
    ids = {e.source.id for e in edges if e.source.kind == "dataset_version"}
    try:
        run = service.links.tracking().get_run(run_id)
        ids |= {i.dataset_version_id for i in run.inputs}
    except FalajError:
        pass  # lineage alone still names the inputs
    if not ids:
        return {}, None
    datasets = service.links.datasets()
    if datasets is None:
        return {}, "dataset validation status unavailable: the data capability does not report it"
    statuses: dict[str, str | None] = {}
    for dataset_id in sorted(ids):
        try:
            statuses[dataset_id] = datasets.validation_status(dataset_id)
        except FalajError as exc:
            return {}, f"validation status of {dataset_id} unavailable: {exc}"
    return statuses, None


def _gather_outside(
    service: RegistryService, mv: ModelVersion, policy: Policy, champion: ModelVersion | None
) -> _Outside:
    """Read the neighbours' facts as the machinery of an authorized call (no transaction open)."""
    with machinery():
        runs = {mv.run_id: _run_metrics(service, mv.run_id)}
        if champion is not None:
            runs[champion.run_id] = _run_metrics(service, champion.run_id)
        datasets: dict[str, str | None] = {}
        datasets_error = None
        validations: dict[str, list[Any]] = {}
        if policy.validation is not None:
            datasets, datasets_error = _input_datasets(service, mv.run_id)
            validations = _validation_runs(service, sorted(datasets))
        region = None
        if policy.residency is not None:
            region = service.links.artifacts.info(mv.artifact_digest).region
    return _Outside(runs, datasets, datasets_error, region, validations)


def _champion(conn: Connection, mv: ModelVersion, policy: Policy) -> ModelVersion | None:
    if policy.champion is None:
        return None
    try:
        return q.resolve_version(conn, mv.name, policy.champion.alias)
    except AliasNotFoundError:
        return None


def _metric_sources(conn: Connection, mv: ModelVersion, outside: _Outside) -> MetricSources:
    evaluations = [e for e in q.evidence_of(conn, mv.name, mv.version) if e.kind == "evaluation"]
    metrics, error = outside.run_metrics.get(mv.run_id, (None, "run metrics were not gathered"))
    return MetricSources(
        evaluation=evaluations[-1] if evaluations else None,
        run_id=mv.run_id,
        run_metrics=metrics,
        run_error=error,
    )


def _inputs(
    conn: Connection,
    mv: ModelVersion,
    champion: ModelVersion | None,
    outside: _Outside,
) -> GateInputs:
    """The gate inputs: the registry's own rows read through ``conn``, the rest gathered."""
    return GateInputs(
        version=mv,
        evidence=q.evidence_of(conn, mv.name, mv.version),
        metrics=_metric_sources(conn, mv, outside),
        champion=champion,
        champion_metrics=_metric_sources(conn, champion, outside) if champion else None,
        datasets=outside.datasets,
        datasets_error=outside.datasets_error,
        artifact_region=outside.artifact_region,
        approvals=q.approvals_of(conn, mv.name, mv.version),
        validations=outside.validations,
    )


def _snapshot(
    service: RegistryService, name: str, version: int | str
) -> tuple[ModelVersion, Policy, ModelVersion | None]:
    with service.store.read() as conn:
        mv = q.resolve_version(conn, name, version)
        policy = current_policy(conn, name, required=True)
        assert policy is not None
        return mv, policy, _champion(conn, mv, policy)


def check_gates(service: RegistryService, name: str, version: int | str) -> GateReport:
    check_model_name(name)
    service.authorize(Action.MODEL_READ, "model", name)
    mv, policy, champion = _snapshot(service, name, version)
    outside = _gather_outside(service, mv, policy, champion)
    with service.store.read() as conn:
        return evaluate(policy, _inputs(conn, mv, champion, outside))


def promote(
    service: RegistryService, name: str, version: int | str, *, alias: str, reason: str
) -> PromotionRecord:
    """Gather first (the neighbours' facts, outside any write transaction), then write: lock the
    model, re-read the registry's own facts, judge the gates, move the alias, record."""
    check_model_name(name)
    check_alias(alias)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInputError(
            f"reason {reason!r} is invalid: a promotion needs a reason for the change record"
        )
    details: dict[str, Any] = {"alias": alias, "reason": reason, "requested_version": version}
    actor = service.authorize(
        Action.MODEL_PROMOTE, "model_version", f"{name}/{version}", details=details
    )
    gathered, judged_policy, champion = _snapshot(service, name, version)
    outside = _gather_outside(service, gathered, judged_policy, champion)
    with service.mutation(
        Action.MODEL_PROMOTE,
        "model_version",
        f"{name}/{version}",
        details=details,
        actor=actor,
        authorized=True,
    ) as m:
        q.get_model_row(m.conn, name, lock=True)  # one promotion of a model at a time
        mv = q.resolve_version(m.conn, name, version)
        m.resource_id = mv.ref
        q.require_status(mv, "promote", ("READY",))
        if alias in mv.aliases:
            raise VersionStateError(
                f"alias {alias!r} of model {name!r} already points at version {mv.version}"
            )
        policy = current_policy(m.conn, name, required=True)
        assert policy is not None
        holder = _champion(m.conn, mv, policy)
        if (
            (mv.version, mv.artifact_digest) != (gathered.version, gathered.artifact_digest)
            or policy.revision != judged_policy.revision
            or (holder.version if holder else None) != (champion.version if champion else None)
        ):
            raise ConflictError(
                f"model {name!r} changed while its promotion was being judged (its version, "
                "policy or champion moved); run the promotion again"
            )
        report = evaluate(policy, _inputs(m.conn, mv, holder, outside))
        m.details.update(risk=policy.risk, policy_revision=policy.revision, gates=report.as_dict())
        if not report.passed:
            failed = "; ".join(f"{c.kind} {c.name}: {c.evidence}" for c in report.failures)
            raise GatesFailedError(
                f"promotion of model {name!r} version {mv.version} to {alias!r} refused: "
                f"{len(report.failures)} gate condition(s) failed ({failed})"
            )
        now = utcnow()
        previous = q.move_alias(
            m.conn,
            name=name,
            alias=alias,
            to_version=mv.version,
            who=actor.principal.name,
            when=now,
            reason=f"promotion: {reason}",
        )
        record = PromotionRecord(
            id=new_id(),
            name=name,
            version=mv.version,
            alias=alias,
            from_version=previous,
            requester=actor.principal.name,
            approvers=[
                {
                    "approver": a.approver,
                    "roles": list(a.roles),
                    "comment": a.comment,
                    "at": a.created_at.isoformat(),
                }
                for a in q.approvals_of(m.conn, name, mv.version)
                if stale_reason(
                    a,
                    policy_revision=policy.revision,
                    model_digest=mv.artifact_digest,
                    evidence=q.evidence_of(m.conn, name, mv.version),
                )
                is None  # only the approvals that counted (not stale ones) are approvers
            ],
            evidence=[
                {
                    "id": e.id,
                    "kind": e.kind,
                    "artifact_digest": e.artifact_digest,
                    "created_by": e.created_by,
                    "at": e.created_at.isoformat(),
                }
                for e in q.evidence_of(m.conn, name, mv.version)
            ],
            gates=[c.as_dict() for c in report.conditions],
            risk=policy.risk,
            policy_revision=policy.revision,
            reason=reason,
            created_at=now,
        )
        m.conn.execute(
            sa.insert(model_promotions).values(
                id=record.id,
                name=name,
                version=mv.version,
                alias=alias,
                from_version=previous,
                requester=record.requester,
                approvers=record.approvers,
                evidence=record.evidence,
                gates=record.gates,
                risk=record.risk,
                policy_revision=record.policy_revision,
                reason=reason,
                created_at=now,
            )
        )
        m.details.clear()
        m.details.update(change_record=record.as_dict())
        return record


def list_promotions(conn: Connection, name: str) -> list[PromotionRecord]:
    q.get_model_row(conn, name)
    rows = conn.execute(
        sa.select(model_promotions)
        .where(model_promotions.c.name == name)
        .order_by(model_promotions.c.created_at, model_promotions.c.id)
    )
    return [PromotionRecord(**r._mapping) for r in rows]
