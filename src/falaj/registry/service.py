"""``ws.registry``: registered models, versions, tags, aliases with history, evidence, gates.

Version numbers are handed out race-free: creating a version locks the registered model's row
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serializes writers)
and bumps its counter, with a unique ``(name, version)`` constraint as the backstop. Every change
is one transaction with its audit event; deletion is soft, so history and audit stay.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from falaj.errors import ConflictError, InvalidInputError
from falaj.governance.authorization import Action
from falaj.governance.context import machinery
from falaj.governance.service import Service, ServiceContext
from falaj.lineage.graph import Node, record_edge
from falaj.registry import queries as q
from falaj.registry import signatures
from falaj.registry.errors import VersionStateError
from falaj.registry.evidence import check_evidence
from falaj.registry.links import LoggedModelLike, RegistryLinks
from falaj.registry.models import (
    AliasMove,
    Approval,
    Evidence,
    ModelVersion,
    PromotionRecord,
    RegisteredModel,
    check_alias,
    check_model_name,
    check_reason,
    check_tags,
    check_text,
    check_version_number,
)
from falaj.registry.tables import (
    model_evidence,
    model_version_tags,
    model_versions,
    registered_models,
)
from falaj.store.dml import insert_ignore
from falaj.store.schema import new_id, utcnow

if TYPE_CHECKING:
    from falaj.governance.signing import SignatureCheck
    from falaj.registry.gates import GateReport
    from falaj.registry.policy import Policy

__all__ = ["RegistryService"]


class RegistryService(Service):
    """Registered models and their versions; see the module docstring."""

    def __init__(self, context: ServiceContext, links: RegistryLinks) -> None:
        super().__init__(context)
        self._links = links

    @property
    def links(self) -> RegistryLinks:
        return self._links

    # -- versions ------------------------------------------------------------------------------
    def create_version(
        self,
        name: str,
        model: LoggedModelLike | str,
        *,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> ModelVersion:
        """Register ``model`` (a LoggedModel or ``runs:/<run_id>/<name>``) as the next version
        of ``name``, creating the registered model on first use."""
        check_model_name(name)
        clean_tags = check_tags(tags or {})
        check_text("description", description)
        actor = self.authorize(Action.MODEL_VERSION_CREATE, "model", name)
        with machinery():
            logged = self._resolve_logged_model(model)
            self._links.artifacts.info(logged.artifact_digest)  # the bytes must be in this store
        resources = signatures.manifest_for(self, logged.artifact_digest)  # gather, then write
        source_uri = f"runs:/{logged.run_id}/{logged.name}"
        details: dict[str, Any] = {"run_id": logged.run_id, "source": source_uri}
        with self.mutation(
            Action.MODEL_VERSION_CREATE,
            "model_version",
            name,
            details=details,
            actor=actor,
            authorized=True,
        ) as m:
            now = utcnow()
            created_model = insert_ignore(
                m.conn,
                registered_models,
                {
                    "name": name,
                    "description": None,
                    "latest_version": 0,
                    "created_by": self.principal.name,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            current = q.get_model_row(m.conn, name, lock=True).latest_version
            version = current + 1
            m.conn.execute(
                sa.update(registered_models)
                .where(registered_models.c.name == name)
                .values(latest_version=version, updated_at=now)
            )
            insert_version = sa.insert(model_versions).values(
                id=new_id(),
                name=name,
                version=version,
                run_id=logged.run_id,
                source_uri=source_uri,
                artifact_digest=logged.artifact_digest,
                flavor=logged.flavor,
                status="READY",
                description=description,
                created_by=self.principal.name,
                created_at=now,
                updated_at=now,
            )
            try:
                m.conn.execute(insert_version)
            except sa.exc.IntegrityError as exc:  # the unique (name, version) backstop
                raise ConflictError(
                    f"model {name!r} version {version} was registered concurrently; retry"
                ) from exc
            for key, value in clean_tags.items():
                m.conn.execute(
                    sa.insert(model_version_tags).values(
                        name=name,
                        version=version,
                        key=key,
                        value=value,
                        updated_by=self.principal.name,
                        updated_at=now,
                    )
                )
            record_edge(
                m.conn,
                Node("run", logged.run_id),
                Node("model_version", f"{name}/{version}"),
                "produced",
                self.principal,
            )
            if resources is not None and self._links.signing is not None:
                m.details["signature_key"] = self._links.signing.sign(
                    m.conn,
                    name=name,
                    version=version,
                    archive_digest=logged.artifact_digest,
                    resources=resources,
                    signed_by=self.principal.name,
                )
            m.resource_id = f"{name}/{version}"
            m.details.update(
                version=version,
                digest=logged.artifact_digest,
                flavor=logged.flavor,
                model_created=bool(created_model),
            )
            return ModelVersion(
                name=name,
                version=version,
                run_id=logged.run_id,
                artifact_digest=logged.artifact_digest,
                flavor=logged.flavor,
                status="READY",
                created_by=self.principal.name,
                created_at=now,
                description=description,
                tags=dict(sorted(clean_tags.items())),
                source_uri=source_uri,
                updated_at=now,
            )

    def _resolve_logged_model(self, model: LoggedModelLike | str) -> LoggedModelLike:
        if isinstance(model, str):
            if not model.startswith("runs:/"):
                raise InvalidInputError(
                    f"model {model!r} is invalid: expected a LoggedModel or a "
                    "'runs:/<run_id>/<name>' URI"
                )
            logged: LoggedModelLike = self._links.tracking().get_logged_model(model)
            return logged
        for attr in ("run_id", "name", "artifact_digest", "flavor"):
            if not isinstance(getattr(model, attr, None), str):
                raise InvalidInputError(
                    f"model {model!r} is invalid: expected a LoggedModel (from run.log_model) "
                    "or a 'runs:/<run_id>/<name>' URI"
                )
        # The run must have logged exactly this model in this workspace.
        stored: LoggedModelLike = self._links.tracking().get_logged_model(
            f"runs:/{model.run_id}/{model.name}"
        )
        if stored.artifact_digest != model.artifact_digest:
            raise InvalidInputError(
                f"model {model.name!r} of run {model.run_id} is stored with digest "
                f"{stored.artifact_digest}, not {model.artifact_digest}"
            )
        return stored

    def get_version(self, name: str, version_or_alias: int | str) -> ModelVersion:
        """A version by number, by alias (``"champion"``) or ``"latest"``."""
        check_model_name(name)
        self.authorize(Action.MODEL_READ, "model", name)
        with self.store.read() as conn:
            return q.resolve_version(conn, name, version_or_alias)

    def get_model(self, name: str) -> RegisteredModel:
        check_model_name(name)
        self.authorize(Action.MODEL_READ, "model", name)
        with self.store.read() as conn:
            return q.get_model_row(conn, name)

    def list_models(self) -> list[RegisteredModel]:
        self.authorize(Action.MODEL_READ, "model", "*")
        with self.store.read() as conn:
            names = conn.execute(
                sa.select(registered_models.c.name).order_by(registered_models.c.name)
            ).scalars()
            return [q.get_model_row(conn, n) for n in list(names)]

    def list_versions(self, name: str, *, include_deleted: bool = False) -> list[ModelVersion]:
        """Versions of ``name``, newest first (DELETED ones only when asked)."""
        check_model_name(name)
        self.authorize(Action.MODEL_READ, "model", name)
        mv = model_versions
        query = sa.select(mv).where(mv.c.name == name).order_by(mv.c.version.desc())
        if not include_deleted:
            query = query.where(mv.c.status != "DELETED")
        with self.store.read() as conn:
            q.get_model_row(conn, name)
            return [q.version_from_row(conn, row) for row in conn.execute(query).all()]

    def load_model(self, name: str, version_or_alias: int | str, *, trusted: bool = False) -> Any:
        """Load the version's model through tracking (input signature enforced, safe by
        default), after its signature is checked per ``signing_mode`` (refused under
        ``enforce``, loaded with a loud warning and an audit event under ``warn``)."""
        check_model_name(name)
        self.authorize(Action.MODEL_LOAD, "model", name)
        with machinery():
            mv = self.get_version(name, version_or_alias)
            q.require_status(mv, "load", ("READY", "ARCHIVED"))
            signatures.check_before_load(self, mv)
            return self._links.tracking().load_model(mv.source_uri, trusted=trusted)

    def verify_signature(self, name: str, version_or_alias: int | str) -> SignatureCheck:
        """Re-verify a version's signature and every file of it (``falaj models verify``)."""
        check_model_name(name)
        return signatures.verify_version(self, name, version_or_alias)

    def sign_version(self, name: str, version: int) -> str:
        """Sign a version registered before signing was on; returns the key id."""
        check_model_name(name)
        return signatures.sign_version(self, name, check_version_number(version))

    # -- descriptions, tags, status ------------------------------------------------------------
    def set_model_description(self, name: str, description: str | None) -> RegisteredModel:
        check_model_name(name)
        check_text("description", description)
        with self.mutation(Action.MODEL_UPDATE, "model", name) as m:
            q.get_model_row(m.conn, name, lock=True)
            m.conn.execute(
                sa.update(registered_models)
                .where(registered_models.c.name == name)
                .values(description=description, updated_at=utcnow())
            )
            return q.get_model_row(m.conn, name)

    def set_version_description(
        self, name: str, version: int, description: str | None
    ) -> ModelVersion:
        check_text("description", description)
        return self._update_version(
            name, version, Action.MODEL_VERSION_UPDATE, description=description
        )

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> ModelVersion:
        clean = check_tags({key: value})
        with self.mutation(Action.MODEL_VERSION_TAG_SET, "model_version", f"{name}/{version}") as m:
            mv = q.resolve_version(m.conn, check_model_name(name), check_version_number(version))
            where = _tag_where(name, mv.version, key)
            m.conn.execute(sa.delete(model_version_tags).where(where))
            m.conn.execute(
                sa.insert(model_version_tags).values(
                    name=name,
                    version=mv.version,
                    key=key,
                    value=clean[key],
                    updated_by=self.principal.name,
                    updated_at=utcnow(),
                )
            )
            m.details.update(key=key, value=clean[key], previous=mv.tags.get(key))
            return q.resolve_version(m.conn, name, mv.version)

    def delete_version_tag(self, name: str, version: int, key: str) -> ModelVersion:
        with self.mutation(
            Action.MODEL_VERSION_TAG_DELETE, "model_version", f"{name}/{version}"
        ) as m:
            mv = q.resolve_version(m.conn, check_model_name(name), check_version_number(version))
            if key not in mv.tags:
                raise InvalidInputError(
                    f"tag {key!r} is not set on model {name!r} version {mv.version} "
                    f"(tags: {', '.join(mv.tags) or 'none'})"
                )
            m.conn.execute(sa.delete(model_version_tags).where(_tag_where(name, mv.version, key)))
            m.details.update(key=key, previous=mv.tags[key])
            return q.resolve_version(m.conn, name, mv.version)

    def archive(self, name: str, version: int, *, reason: str = "") -> ModelVersion:
        """READY → ARCHIVED (refused while an alias points at the version)."""
        return self._update_version(
            name, version, Action.MODEL_VERSION_ARCHIVE, status="ARCHIVED", reason=reason
        )

    def restore(self, name: str, version: int, *, reason: str = "") -> ModelVersion:
        """ARCHIVED → READY."""
        return self._update_version(
            name, version, Action.MODEL_VERSION_RESTORE, status="READY", reason=reason
        )

    def delete_version(self, name: str, version: int, *, reason: str = "") -> ModelVersion:
        """Soft delete: the row stays (status DELETED) and so do its history and audit trail."""
        return self._update_version(
            name, version, Action.MODEL_VERSION_DELETE, status="DELETED", reason=reason
        )

    def _update_version(
        self,
        name: str,
        version: int,
        action: Action,
        *,
        status: str | None = None,
        reason: str = "",
        **values: Any,
    ) -> ModelVersion:
        check_model_name(name)
        number = check_version_number(version)
        check_text("reason", reason)
        with self.mutation(action, "model_version", f"{name}/{number}") as m:
            mv = q.resolve_version(m.conn, name, number)
            if status is not None:
                allowed = {"ARCHIVED": ("READY",), "READY": ("ARCHIVED",)}.get(
                    status, ("READY", "ARCHIVED")
                )
                verb = action.value.rsplit(".", 1)[-1]
                q.require_status(mv, verb, allowed)
                if status != "READY" and mv.aliases:
                    raise VersionStateError(
                        f"cannot {verb} model {name!r} version {number}: "
                        f"aliases {', '.join(mv.aliases)} point at it; move or delete them first"
                    )
                values["status"] = status
                m.details.update(status_from=mv.status, status_to=status)
            if reason:
                m.details["reason"] = reason
            m.conn.execute(
                sa.update(model_versions)
                .where(model_versions.c.name == name, model_versions.c.version == number)
                .values(updated_at=utcnow(), **values)
            )
            return q.resolve_version(m.conn, name, number)

    # -- aliases -------------------------------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: int, *, reason: str) -> None:
        """Point ``alias`` at ``version``; the move (who, when, why, from, to) is kept forever."""
        check_model_name(name)
        check_alias(alias)
        number = check_version_number(version)
        check_reason(reason)
        details = {"alias": alias, "to_version": number, "reason": reason}
        with self.mutation(Action.MODEL_ALIAS_SET, "model", name, details=details) as m:
            q.get_model_row(m.conn, name, lock=True)
            mv = q.resolve_version(m.conn, name, number)
            q.require_status(mv, f"point alias {alias!r} at", ("READY",))
            previous = q.move_alias(
                m.conn,
                name=name,
                alias=alias,
                to_version=number,
                who=self.principal.name,
                when=utcnow(),
                reason=reason,
            )
            m.details["from_version"] = previous

    def delete_alias(self, name: str, alias: str, *, reason: str) -> None:
        check_model_name(name)
        check_alias(alias)
        check_reason(reason)
        details = {"alias": alias, "reason": reason}
        with self.mutation(Action.MODEL_ALIAS_DELETE, "model", name, details=details) as m:
            q.get_model_row(m.conn, name, lock=True)
            m.details["from_version"] = q.move_alias(
                m.conn,
                name=name,
                alias=alias,
                to_version=None,
                who=self.principal.name,
                when=utcnow(),
                reason=reason,
            )

    def aliases(self, name: str) -> dict[str, int]:
        return self.get_model(name).aliases

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of ``alias`` (or of every alias), oldest first."""
        check_model_name(name)
        if alias is not None:
            check_alias(alias)
        self.authorize(Action.MODEL_READ, "model", name)
        with self.store.read() as conn:
            q.get_model_row(conn, name)
            return q.alias_history(conn, name, alias)

    def alias_at(self, name: str, alias: str, when: dt.datetime) -> int | None:
        """Which version ``alias`` pointed at, at time ``when`` (None: not set then)."""
        check_model_name(name)
        check_alias(alias)
        if not isinstance(when, dt.datetime) or when.tzinfo is None:
            raise InvalidInputError(f"when {when!r} is invalid: expected a timezone-aware datetime")
        self.authorize(Action.MODEL_READ, "model", name)
        with self.store.read() as conn:
            return q.alias_at(conn, name, alias, when)

    # -- evidence ------------------------------------------------------------------------------
    def attach_evidence(
        self,
        name: str,
        version: int,
        kind: str,
        *,
        summary: dict[str, Any],
        artifact_digest: str | None = None,
    ) -> Evidence:
        """Attach a report (evaluation, fairness, explanation, model card...) to a version."""
        check_model_name(name)
        number = check_version_number(version)
        check_evidence(kind, summary)
        details = {"kind": kind, "artifact_digest": artifact_digest}
        actor = self.authorize(
            Action.MODEL_EVIDENCE_ATTACH, "model_version", f"{name}/{number}", details=details
        )
        if artifact_digest is not None:
            with machinery():
                artifact_digest = self._links.artifacts.info(artifact_digest).digest
            details["artifact_digest"] = artifact_digest
        with self.mutation(
            Action.MODEL_EVIDENCE_ATTACH,
            "model_version",
            f"{name}/{number}",
            details=details,
            actor=actor,
            authorized=True,
        ) as m:
            mv = q.resolve_version(m.conn, name, number)
            q.require_status(mv, "attach evidence to", ("READY", "ARCHIVED"))
            evidence_id = new_id()
            m.conn.execute(
                sa.insert(model_evidence).values(
                    id=evidence_id,
                    name=name,
                    version=number,
                    kind=kind,
                    summary=summary,
                    artifact_digest=artifact_digest,
                    created_by=self.principal.name,
                    created_at=utcnow(),
                )
            )
            if artifact_digest is not None:
                record_edge(
                    m.conn,
                    Node("artifact", artifact_digest),
                    Node("model_version", f"{name}/{number}"),
                    f"evidence:{kind}"[:50],
                    self.principal,
                )
            m.details["evidence_id"] = evidence_id
            row = m.conn.execute(
                sa.select(model_evidence).where(model_evidence.c.id == evidence_id)
            ).one()
            return Evidence(**row._mapping)

    def evidence(self, name: str, version: int, *, kind: str | None = None) -> list[Evidence]:
        check_model_name(name)
        number = check_version_number(version)
        self.authorize(Action.MODEL_READ, "model", name)
        with self.store.read() as conn:
            q.resolve_version(conn, name, number)
            items = q.evidence_of(conn, name, number)
        return [e for e in items if kind is None or e.kind == kind]

    # -- gates, approvals, promotion (logic in policy.py, gates.py, approvals.py, promotion.py)
    def set_policy(self, name: str, text: str) -> Policy:
        """Validate and store the gate policy (YAML) of ``name``; returns it parsed."""
        from falaj.registry.promotion import set_policy

        return set_policy(self, name, text)

    def policy(self, name: str) -> Policy:
        """The policy in force for ``name`` (PolicyNotFoundError when none was set)."""
        from falaj.registry.promotion import current_policy

        self.authorize(Action.MODEL_READ, "model", check_model_name(name))
        with self.store.read() as conn:
            policy = current_policy(conn, name, required=True)
        assert policy is not None  # required=True raises instead of returning None
        return policy

    def check_gates(self, name: str, version: int | str) -> GateReport:
        """Evaluate every condition of the policy for a version; nothing is changed."""
        from falaj.registry.promotion import check_gates

        return check_gates(self, name, version)

    def approve(
        self, name: str, version: int, *, comment: str, attested_by: str | None = None
    ) -> Approval:
        """Approve a version as the current principal (never its creator).

        ``attested_by`` names who asserted this identity when it was not authenticated (the OS
        user behind ``falaj approve --as``); it is recorded in the audit event.
        """
        from falaj.registry.approvals import approve

        return approve(self, name, version, comment=comment, attested_by=attested_by)

    def approvals(self, name: str, version: int) -> list[Approval]:
        self.authorize(Action.MODEL_READ, "model", check_model_name(name))
        with self.store.read() as conn:
            q.resolve_version(conn, check_model_name(name), check_version_number(version))
            return q.approvals_of(conn, name, check_version_number(version))

    def promote(
        self, name: str, version: int, *, alias: str = "champion", reason: str
    ) -> PromotionRecord:
        """Move ``alias`` to ``version`` when every gate passes, with a change record."""
        from falaj.registry.promotion import promote

        return promote(self, name, version, alias=alias, reason=reason)

    def promotions(self, name: str) -> list[PromotionRecord]:
        from falaj.registry.promotion import list_promotions

        self.authorize(Action.MODEL_READ, "model", check_model_name(name))
        with self.store.read() as conn:
            return list_promotions(conn, name)


def _tag_where(name: str, version: int, key: str) -> sa.ColumnElement[bool]:
    t = model_version_tags
    return sa.and_(t.c.name == name, t.c.version == version, t.c.key == key)
