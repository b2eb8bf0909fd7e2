"""``ws.serving``: deployments, revisions, traffic, rollouts and the aggregates replicas report.

Every call goes through the authorization seam; every change (a revision added, weights moved,
a rollout decision) is one transaction with its audit event, and bumps the deployment's
``generation`` so replicas reload. Neighbours (the registry) are gathered before the write
transaction opens.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from falaj.errors import InvalidInputError
from falaj.governance.authorization import Action
from falaj.governance.context import machinery
from falaj.governance.service import Service, ServiceContext
from falaj.lineage.graph import Node, record_edge
from falaj.serving import queries as q
from falaj.serving.errors import (
    DeploymentNotFoundError,
    RevisionNotFoundError,
    RolloutNotFoundError,
    RolloutStateError,
)
from falaj.serving.models import Deployment, Revision, Rollout
from falaj.serving.ports import PinnedVersion, ServingLinks
from falaj.serving.refs import parse_model_ref
from falaj.serving.rollout import Decision, RolloutPolicy, parse_steps
from falaj.serving.router import parse_routing_key
from falaj.serving.stats import RevisionStats, Summary
from falaj.serving.tables import deployment_revisions, deployments, revision_aggregates, rollouts
from falaj.store.schema import new_id, utcnow

__all__ = ["ServingService"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def check_deployment_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"deployment name {name!r} is invalid: expected 1-63 lowercase letters, digits and "
            "'-', starting with a letter or digit (it becomes a Kubernetes name)"
        )
    return name


def _check_fraction(field: str, value: float, top: float) -> float:
    if not isinstance(value, int | float) or not 0 <= float(value) <= top:
        raise InvalidInputError(f"{field} {value!r} is invalid: expected a number in [0, {top:g}]")
    return float(value)


class ServingService(Service):
    """Deployments and progressive delivery (``falaj.serving``)."""

    def __init__(self, context: ServiceContext, links: ServingLinks) -> None:
        super().__init__(context)
        self._links = links

    @property
    def links(self) -> ServingLinks:
        return self._links

    # -- resolution (gathered before any write transaction) ------
    def _resolve(self, model_ref: str) -> PinnedVersion:
        name, ref = parse_model_ref(model_ref)
        with machinery():
            mv: PinnedVersion = self._links.catalog().get_version(name, ref)
        if str(mv.status) not in ("READY",):
            raise InvalidInputError(
                f"model {mv.name}/{mv.version} is {mv.status}: only READY versions can be deployed"
            )
        return mv

    def _new_revision(
        self, conn: sa.Connection, deployment: str, mv: PinnedVersion, **values: Any
    ) -> str:
        rid = new_id()
        conn.execute(
            sa.insert(deployment_revisions).values(
                id=rid,
                deployment=deployment,
                model_name=mv.name,
                model_version=int(mv.version),
                artifact_digest=mv.artifact_digest,
                state="active",
                created_by=self.principal.name,
                created_at=utcnow(),
                retired_at=None,
                **values,
            )
        )
        record_edge(
            conn,
            Node("model_version", f"{mv.name}/{mv.version}"),
            Node("deployment", deployment),
            "serves",
            self.principal,
        )
        return rid

    # -- deployments ------
    def create_deployment(
        self,
        name: str,
        model: str,
        *,
        routing_key: str | None = None,
        description: str | None = None,
        region: str | None = None,
    ) -> Deployment:
        """A deployment serving ``model`` (``credit@champion``) at 100 %, pinned to its digest.

        ``region`` is where it will run (default: the workspace's); a model trained on data whose
        classification may not live there is refused by the residency policy, and audited."""
        check_deployment_name(name)
        key = parse_routing_key(routing_key)
        self.authorize(Action.DEPLOYMENT_CREATE, "deployment", name)
        mv = self._resolve(model)
        target = region or self.context.region
        if self._links.residency is not None:
            with machinery():
                self._links.residency(mv.name, mv.version, target)
        details = {
            "model": f"{mv.name}/{mv.version}",
            "digest": mv.artifact_digest,
            "region": target,
        }
        with self.mutation(
            Action.DEPLOYMENT_CREATE, "deployment", name, details=details, authorized=True
        ) as m:
            exists = m.conn.execute(
                sa.select(deployments.c.name).where(deployments.c.name == name)
            ).first()
            if exists is not None:
                from falaj.errors import AlreadyExistsError

                raise AlreadyExistsError(f"deployment {name!r} already exists")
            now = utcnow()
            m.conn.execute(
                sa.insert(deployments).values(
                    name=name,
                    model_name=mv.name,
                    routing_key=str(key) if key else None,
                    generation=1,
                    description=description,
                    created_by=self.principal.name,
                    created_at=now,
                    updated_at=now,
                )
            )
            m.details["revision"] = self._new_revision(
                m.conn, name, mv, role="serving", weight=100.0, shadow_fraction=0.0
            )
            return q.get_deployment(m.conn, name)

    def get_deployment(self, name: str) -> Deployment:
        check_deployment_name(name)
        self.authorize(Action.DEPLOYMENT_READ, "deployment", name)
        with self.store.read() as conn:
            return q.get_deployment(conn, name)

    def generation(self, name: str) -> int:
        """The deployment's change counter (what replicas poll)."""
        self.authorize(Action.DEPLOYMENT_READ, "deployment", name)
        with self.store.read() as conn:
            value = conn.execute(
                sa.select(deployments.c.generation).where(deployments.c.name == name)
            ).scalar()
        if value is None:
            raise DeploymentNotFoundError(f"deployment {name!r} does not exist")
        return int(value)

    def list_deployments(self) -> list[Deployment]:
        self.authorize(Action.DEPLOYMENT_READ, "deployment", "*")
        with self.store.read() as conn:
            names = list(
                conn.execute(sa.select(deployments.c.name).order_by(deployments.c.name)).scalars()
            )
            return [q.get_deployment(conn, n) for n in names]

    def add_revision(
        self,
        name: str,
        model: str,
        *,
        weight: float = 0.0,
        shadow_fraction: float = 0.0,
    ) -> Revision:
        """Add a revision: a serving one with ``weight`` (percent, the others keep theirs; the
        split is proportional), or a shadow one receiving ``shadow_fraction`` of requests."""
        check_deployment_name(name)
        w = _check_fraction("weight", weight, 100.0)
        f = _check_fraction("shadow_fraction", shadow_fraction, 1.0)
        if w > 0 and f > 0:
            raise InvalidInputError(
                "a revision either takes a weight of live traffic or a shadow fraction, not both"
            )
        self.authorize(Action.DEPLOYMENT_UPDATE, "deployment", name)
        mv = self._resolve(model)
        role = "shadow" if f > 0 else "serving"
        details = {"model": f"{mv.name}/{mv.version}", "role": role, "weight": w, "shadow": f}
        with self.mutation(
            Action.DEPLOYMENT_UPDATE, "deployment", name, details=details, authorized=True
        ) as m:
            q.get_deployment(m.conn, name, lock=True)
            rid = self._new_revision(m.conn, name, mv, role=role, weight=w, shadow_fraction=f)
            q.bump_generation(m.conn, name, utcnow())
            m.details["revision"] = rid
            rev = q.get_deployment(m.conn, name).revision(rid)
            assert rev is not None
            return rev

    def set_traffic(self, name: str, weights: Mapping[str, float]) -> Deployment:
        """Set the weights (percent) of serving revisions by id (or a 6+ character prefix);
        a revision given weight 0 and not otherwise needed stays active at 0 %."""
        check_deployment_name(name)
        checked = {k: _check_fraction(f"weight of {k}", v, 100.0) for k, v in weights.items()}
        with self.mutation(
            Action.DEPLOYMENT_UPDATE, "deployment", name, details={"weights": checked}
        ) as m:
            dep = q.get_deployment(m.conn, name, lock=True)
            self._apply_weights(m.conn, dep, checked)
            q.bump_generation(m.conn, name, utcnow())
            return q.get_deployment(m.conn, name)

    def _apply_weights(
        self, conn: sa.Connection, dep: Deployment, weights: Mapping[str, float]
    ) -> None:
        resolved: dict[str, float] = {}
        for key, value in weights.items():
            rev = dep.revision(key)
            if rev is None or rev.role != "serving":
                raise RevisionNotFoundError(
                    f"deployment {dep.name!r} has no serving revision {key!r} "
                    f"(revisions: {', '.join(r.id[:12] for r in dep.serving)})"
                )
            resolved[rev.id] = value
        final = {r.id: resolved.get(r.id, r.weight) for r in dep.serving}
        if sum(final.values()) <= 0:
            raise InvalidInputError(
                f"weights {dict(weights)} leave deployment {dep.name!r} no traffic: at least one "
                "serving revision needs a positive weight"
            )
        for rid, value in resolved.items():
            conn.execute(
                sa.update(deployment_revisions)
                .where(deployment_revisions.c.id == rid)
                .values(weight=value)
            )

    def retire_revision(self, name: str, revision_id: str) -> Deployment:
        """Take a revision out of the deployment (it stops receiving traffic)."""
        check_deployment_name(name)
        with self.mutation(
            Action.DEPLOYMENT_UPDATE, "deployment", name, details={"retire": revision_id}
        ) as m:
            dep = q.get_deployment(m.conn, name, lock=True)
            self._retire(m.conn, dep, revision_id)
            q.bump_generation(m.conn, name, utcnow())
            return q.get_deployment(m.conn, name)

    def _retire(self, conn: sa.Connection, dep: Deployment, revision_id: str) -> None:
        rev = dep.revision(revision_id)
        if rev is None:
            raise RevisionNotFoundError(f"deployment {dep.name!r} has no revision {revision_id!r}")
        left = [r for r in dep.serving if r.id != rev.id and r.weight > 0]
        if rev.role == "serving" and not left:
            raise InvalidInputError(
                f"revision {rev.id[:12]} is the only one taking traffic in {dep.name!r}: "
                "give another revision a weight first"
            )
        conn.execute(
            sa.update(deployment_revisions)
            .where(deployment_revisions.c.id == rev.id)
            .values(state="retired", weight=0.0, retired_at=utcnow())
        )

    # -- rollouts ------
    def start_rollout(
        self,
        name: str,
        model: str,
        *,
        steps: str | Sequence[float] = (5, 25, 50, 100),
        policy: RolloutPolicy | None = None,
        now: dt.datetime | None = None,
    ) -> Rollout:
        """Start a progressive canary of ``model`` against the deployment's stable revision."""
        check_deployment_name(name)
        parsed = parse_steps(steps)
        pol = policy or RolloutPolicy()
        self.authorize(Action.DEPLOYMENT_ROLLOUT, "deployment", name)
        mv = self._resolve(model)
        details = {"model": f"{mv.name}/{mv.version}", "steps": list(parsed)}
        with self.mutation(
            Action.DEPLOYMENT_ROLLOUT, "deployment", name, details=details, authorized=True
        ) as m:
            dep = q.get_deployment(m.conn, name, lock=True)
            if q.open_rollout(m.conn, name) is not None:
                raise RolloutStateError(
                    f"deployment {name!r} already has a rollout in progress: promote or roll it "
                    "back first"
                )
            live = sorted(dep.serving, key=lambda r: -r.weight)
            if not live or live[0].weight <= 0:
                raise InvalidInputError(f"deployment {name!r} has no stable revision serving")
            stable = live[0]
            for other in live[1:]:  # a rollout compares exactly two revisions
                self._retire(m.conn, dep, other.id)
            canary = self._new_revision(
                m.conn, name, mv, role="serving", weight=parsed[0], shadow_fraction=0.0
            )
            self._set_pair(m.conn, stable.id, canary, parsed[0])
            at = now or utcnow()
            rid = new_id()
            m.conn.execute(
                sa.insert(rollouts).values(
                    id=rid,
                    deployment=name,
                    stable_revision=stable.id,
                    canary_revision=canary,
                    steps=list(parsed),
                    step_index=0,
                    step_started_at=at,
                    policy=pol.to_dict(),
                    state="running",
                    created_by=self.principal.name,
                    created_at=at,
                    updated_at=at,
                )
            )
            q.insert_decision(
                m.conn,
                rid,
                at=at,
                decision="start",
                reason=f"canary {mv.name}/{mv.version} at {parsed[0]:g}%",
                evidence={"steps": list(parsed), "policy": pol.to_dict()},
                who=self.principal.name,
            )
            q.bump_generation(m.conn, name, at)
            m.resource_id = name
            m.details.update(rollout=rid, stable=stable.id, canary=canary)
            return q.get_rollout(m.conn, name)

    def _set_pair(self, conn: sa.Connection, stable: str, canary: str, canary_pct: float) -> None:
        for rid, value in ((stable, 100.0 - canary_pct), (canary, canary_pct)):
            conn.execute(
                sa.update(deployment_revisions)
                .where(deployment_revisions.c.id == rid)
                .values(weight=value)
            )

    def get_rollout(self, name: str) -> Rollout:
        """The deployment's open rollout, else its latest one, with every decision."""
        check_deployment_name(name)
        self.authorize(Action.DEPLOYMENT_READ, "deployment", name)
        with self.store.read() as conn:
            return q.get_rollout(conn, name)

    def apply_decision(
        self, name: str, decision: Decision, *, now: dt.datetime | None = None
    ) -> Rollout:
        """Record a controller decision with its evidence and act on it (move weights, promote,
        roll back); ``wait`` decisions are recorded too, so the trail shows every judgment."""
        return self._transition(
            name, decision.action, decision.reason, decision.to_dict(), now, decision.step_index
        )

    def pause(self, name: str, *, reason: str = "paused by hand") -> Rollout:
        return self._transition(name, "pause", reason, {}, None, None)

    def resume(self, name: str, *, reason: str = "resumed by hand") -> Rollout:
        return self._transition(name, "resume", reason, {}, None, None)

    def promote(self, name: str, *, reason: str = "promoted by hand") -> Rollout:
        return self._transition(name, "promote", reason, {}, None, None)

    def rollback(self, name: str, *, reason: str = "rolled back by hand") -> Rollout:
        return self._transition(name, "rollback", reason, {}, None, None)

    def _transition(
        self,
        name: str,
        action: str,
        reason: str,
        evidence: dict[str, Any],
        now: dt.datetime | None,
        step_index: int | None,
    ) -> Rollout:
        check_deployment_name(name)
        details = {"decision": action, "reason": reason, "evidence": evidence}
        with self.mutation(Action.DEPLOYMENT_ROLLOUT, "deployment", name, details=details) as m:
            dep = q.get_deployment(m.conn, name, lock=True)
            ro = q.open_rollout(m.conn, name)
            if ro is None:
                raise RolloutNotFoundError(f"deployment {name!r} has no rollout in progress")
            if ro.state == "paused" and action in ("advance", "wait"):
                raise RolloutStateError(f"the rollout of {name!r} is paused: resume it first")
            at = now or utcnow()
            values: dict[str, Any] = {"updated_at": at}
            if action == "pause":
                if ro.state != "running":
                    raise RolloutStateError(f"the rollout of {name!r} is {ro.state}, not running")
                values["state"] = "paused"
            elif action == "resume":
                if ro.state != "paused":
                    raise RolloutStateError(f"the rollout of {name!r} is {ro.state}, not paused")
                values.update(state="running", step_started_at=at)
            elif action == "advance":
                assert step_index is not None
                values.update(step_index=step_index, step_started_at=at)
                self._set_pair(m.conn, ro.stable_revision, ro.canary_revision, ro.steps[step_index])
            elif action == "promote":
                self._set_pair(m.conn, ro.stable_revision, ro.canary_revision, 100.0)
                self._retire(m.conn, q.get_deployment(m.conn, name), ro.stable_revision)
                values["state"] = "promoted"
            elif action == "rollback":
                self._set_pair(m.conn, ro.stable_revision, ro.canary_revision, 0.0)
                self._retire(m.conn, q.get_deployment(m.conn, name), ro.canary_revision)
                values["state"] = "rolled_back"
            elif action != "wait":
                raise InvalidInputError(f"rollout decision {action!r} is unknown")
            m.conn.execute(sa.update(rollouts).where(rollouts.c.id == ro.id).values(**values))
            q.insert_decision(
                m.conn,
                ro.id,
                at=at,
                decision=action,
                reason=reason,
                evidence=evidence,
                who=self.principal.name,
            )
            if action != "wait":
                q.bump_generation(m.conn, dep.name, at)
            m.details["rollout"] = ro.id
            return q.get_rollout(m.conn, name)

    # -- aggregates ------
    def record_aggregates(
        self,
        name: str,
        replica: str,
        window_start: dt.datetime,
        window_end: dt.datetime,
        stats: Mapping[str, RevisionStats],
    ) -> int:
        """Store one replica's per-revision counts for a window (one row per non-empty one)."""
        self.authorize(Action.DEPLOYMENT_REPORT, "deployment", name)
        rows = [
            {
                "deployment": name,
                "revision_id": rid,
                "replica": replica[:100],
                "window_start": window_start,
                "window_end": window_end,
                "requests": s.requests,
                "errors": s.errors,
                "latency_buckets": list(s.latency),
                "predictions": dict(s.predictions),
                "compared": s.compared,
                "disagreed": s.disagreed,
            }
            for rid, s in stats.items()
            if not s.empty
        ]
        if not rows:
            return 0
        with self.store.transaction() as conn:  # frequent machine writes: not audited one by one
            conn.execute(sa.insert(revision_aggregates), rows)
        return len(rows)

    def timeline(
        self, name: str, since: dt.datetime, bucket: dt.timedelta = dt.timedelta(minutes=5)
    ) -> list[tuple[dt.datetime, Summary]]:
        """The deployment's requests, errors and latency per ``bucket`` since ``since`` (every
        revision and replica merged), oldest first."""
        if bucket.total_seconds() <= 0:
            raise InvalidInputError(f"bucket {bucket} is invalid: expected a positive duration")
        check_deployment_name(name)
        self.authorize(Action.DEPLOYMENT_READ, "deployment", name)
        with self.store.read() as conn:
            revisions = [r.id for r in q.get_deployment(conn, name).revisions]
            series = q.timeline(conn, revisions, since, bucket)
        return [(at, stats.summary()) for at, stats in series]

    def summaries(
        self, name: str, revision_ids: Sequence[str], since: dt.datetime
    ) -> dict[str, Summary]:
        """Every replica's counts for these revisions since ``since``, merged and summarized."""
        self.authorize(Action.DEPLOYMENT_READ, "deployment", name)
        with self.store.read() as conn:
            stats = q.stats_since(conn, list(revision_ids), since)
        return {rid: s.summary() for rid, s in stats.items()}
