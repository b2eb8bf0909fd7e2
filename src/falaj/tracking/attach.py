"""Run attachments: artifacts, models and dataset inputs, each with lineage and an audit event.

A mixin of :class:`~falaj.tracking.service.TrackingService`; the public entry points are
``ActiveRun.log_artifact/log_bytes/log_model/log_dataset`` and the service's import methods.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from falaj.errors import ConflictError, InvalidInputError
from falaj.governance.authorization import Action
from falaj.governance.service import Service
from falaj.lineage.graph import Node, record_edge
from falaj.store.dml import insert_ignore
from falaj.store.schema import utcnow
from falaj.textcheck import check_text
from falaj.tracking.entities import LoggedModel
from falaj.tracking.errors import RunNotActiveError, RunNotFoundError
from falaj.tracking.tables import logged_models, run_artifacts, run_inputs, runs
from falaj.tracking.validation import check_model_name

if TYPE_CHECKING:
    import pandas as pd

    from falaj.artifacts.service import ArtifactInfo, ArtifactService
    from falaj.store.batch_writer import BatchWriter

__all__ = ["MODEL_MEDIA_TYPE", "RunAttachments"]

MODEL_MEDIA_TYPE = "application/vnd.falaj.model+zip"


class RunAttachments(Service):
    """Artifacts, models and dataset inputs of runs (mixed into the tracking service)."""

    _artifacts: ArtifactService
    writer: BatchWriter

    def _require_run(self, conn: sa.Connection, run_id: str, *, what: str = "run") -> Any:
        if not isinstance(run_id, str):
            raise InvalidInputError(f"{what} {run_id!r} is invalid: expected a run id string")
        row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
        if row is None:
            raise RunNotFoundError(f"{what} {run_id!r}: no such run")
        return row

    def _require_running(self, conn: sa.Connection, run_id: str) -> None:
        row = self._require_run(conn, run_id)
        if row.status != "RUNNING":
            raise RunNotActiveError(f"run {run_id} has ended ({row.status})")

    def _log_artifact_file(self, run_id: str, path: Path, name: str | None) -> ArtifactInfo:
        name = name or path.name
        _check_artifact_name(name)
        self.authorize(Action.RUN_LOG_ARTIFACT, "run", run_id, details={"name": name})
        info = self._artifacts.put_file(path)
        return self._attach_artifact(run_id, info, name, authorized=True)

    def _log_artifact_bytes(
        self, run_id: str, data: bytes, name: str, media_type: str
    ) -> ArtifactInfo:
        _check_artifact_name(name)
        self.authorize(Action.RUN_LOG_ARTIFACT, "run", run_id, details={"name": name})
        info = self._artifacts.put_bytes(data, media_type=media_type)
        return self._attach_artifact(run_id, info, name, authorized=True)

    def _attach_artifact(
        self,
        run_id: str,
        info: ArtifactInfo,
        name: str,
        *,
        require_running: bool = True,
        authorized: bool = False,
    ) -> ArtifactInfo:
        _check_artifact_name(name)
        details = {"name": name, "digest": info.digest}
        self.writer.flush()
        with self.mutation(
            Action.RUN_LOG_ARTIFACT, "run", run_id, details=details, authorized=authorized
        ) as m:
            if require_running:
                self._require_running(m.conn, run_id)
            else:
                self._require_run(m.conn, run_id)
            self._insert_artifact_row(m.conn, run_id, name, info)
        return info

    def _insert_artifact_row(
        self, conn: sa.Connection, run_id: str, name: str, info: ArtifactInfo
    ) -> None:
        existing = conn.execute(
            sa.select(run_artifacts.c.digest).where(
                run_artifacts.c.run_id == run_id, run_artifacts.c.name == name
            )
        ).scalar_one_or_none()
        if existing is not None:
            if existing != info.digest:
                raise ConflictError(
                    f"run {run_id} already has an artifact named {name!r} with other content "
                    f"(sha256:{existing[:12]}...); choose another name"
                )
            return
        conn.execute(
            sa.insert(run_artifacts).values(
                run_id=run_id,
                name=name,
                digest=info.digest,
                media_type=info.media_type,
                size=info.size,
                created_at=utcnow(),
            )
        )
        record_edge(
            conn, Node("run", run_id), Node("artifact", info.digest), "output", self.principal
        )

    def _log_model(
        self,
        run_id: str,
        model: Any,
        name: str,
        *,
        input_example: pd.DataFrame | None,
        flavor: str | None,
        trusted: bool,
        require_running: bool = True,
    ) -> LoggedModel:
        from falaj.tracking.models import pack_model

        name = check_model_name(name)
        self.authorize(Action.RUN_LOG_MODEL, "run", run_id, details={"name": name})
        packed = pack_model(model, flavor=flavor, input_example=input_example, trusted=trusted)
        info = self._artifacts.put_bytes(packed.data, media_type=MODEL_MEDIA_TYPE)
        logged = LoggedModel(
            run_id=run_id,
            name=name,
            artifact_digest=info.digest,
            flavor=packed.flavor,
            signature=packed.signature,
            trusted=packed.trusted,
        )
        details = {"name": name, "flavor": packed.flavor, "digest": info.digest, "trusted": trusted}
        return self._record_model(logged, info, details, require_running=require_running)

    def log_packed_model(self, run_id: str, data: bytes, name: str = "model") -> LoggedModel:
        """Log a model archive packed elsewhere (``pack_model`` on a remote client) on a
        running run. Its manifest is checked; the model itself is never deserialized here."""
        from falaj.errors import IntegrityError
        from falaj.tracking.models.packing import read_manifest

        name = check_model_name(name)
        self.authorize(Action.RUN_LOG_MODEL, "run", run_id, details={"name": name})
        try:
            manifest = read_manifest(bytes(data))
        except IntegrityError as exc:
            raise InvalidInputError(f"model archive refused: {exc}") from exc
        flavor, signature = manifest.get("flavor"), manifest.get("signature")
        if not isinstance(flavor, str) or not (signature is None or isinstance(signature, dict)):
            raise InvalidInputError("model archive refused: flavor or signature is malformed")
        info = self._artifacts.put_bytes(bytes(data), media_type=MODEL_MEDIA_TYPE)
        logged = LoggedModel(
            run_id=run_id,
            name=name,
            artifact_digest=info.digest,
            flavor=flavor,
            signature=signature,
            trusted=bool(manifest.get("trusted")),
        )
        details = {"name": name, "flavor": flavor, "digest": info.digest, "packed": "remote"}
        return self._record_model(logged, info, details, require_running=True)

    def _record_model(
        self,
        logged: LoggedModel,
        info: ArtifactInfo,
        details: dict[str, Any],
        *,
        require_running: bool,
    ) -> LoggedModel:
        run_id, name = logged.run_id, logged.name
        self.writer.flush()
        with self.mutation(
            Action.RUN_LOG_MODEL, "run", run_id, details=details, authorized=True
        ) as m:
            if require_running:
                self._require_running(m.conn, run_id)
            else:
                self._require_run(m.conn, run_id)
            self._insert_model_row(m.conn, logged)
            self._insert_artifact_row(m.conn, run_id, f"models/{name}", info)
        return logged

    def _insert_model_row(self, conn: sa.Connection, logged: LoggedModel) -> None:
        existing = conn.execute(
            sa.select(logged_models.c.artifact_digest).where(
                logged_models.c.run_id == logged.run_id, logged_models.c.name == logged.name
            )
        ).scalar_one_or_none()
        if existing is not None:
            if existing != logged.artifact_digest:
                raise ConflictError(
                    f"run {logged.run_id} already logged a different model named "
                    f"{logged.name!r}; choose another name"
                )
            return
        conn.execute(
            sa.insert(logged_models).values(
                run_id=logged.run_id,
                name=logged.name,
                artifact_digest=logged.artifact_digest,
                flavor=logged.flavor,
                signature=logged.signature,
                trusted=logged.trusted,
                created_at=utcnow(),
            )
        )

    def _log_dataset(self, run_id: str, dataset_version_id: str, context: str) -> None:
        if not isinstance(dataset_version_id, str) or "@" not in dataset_version_id:
            raise InvalidInputError(
                f"dataset_version_id {dataset_version_id!r} is invalid: expected 'name@version'"
            )
        name, _, version = dataset_version_id.rpartition("@")
        if not name or not version.isdigit():
            raise InvalidInputError(
                f"dataset_version_id {dataset_version_id!r} is invalid: expected 'name@version' "
                "with an integer version"
            )
        if not isinstance(context, str) or not context.strip() or len(context) > 100:
            raise InvalidInputError(f"context {context!r} is invalid: expected 1-100 characters")
        details = {"dataset_version": dataset_version_id, "context": context}
        self.writer.flush()
        with self.mutation(Action.RUN_LOG_DATASET, "run", run_id, details=details) as m:
            self._require_run(m.conn, run_id)
            insert_ignore(
                m.conn,
                run_inputs,
                {
                    "run_id": run_id,
                    "dataset_version_id": dataset_version_id,
                    "context": context,
                    "created_at": utcnow(),
                },
            )
            record_edge(
                m.conn,
                Node("dataset_version", dataset_version_id),
                Node("run", run_id),
                "input",
                self.principal,
            )


def _check_artifact_name(name: Any) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > 500:
        raise InvalidInputError(f"artifact name {name!r} is invalid: expected 1-500 characters")
    check_text("artifact name", name, optional=False)
