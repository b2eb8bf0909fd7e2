"""``ws.datasets``: register, find, load, profile, diff, validate and watch dataset versions."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from falaj.artifacts.service import ArtifactService
from falaj.data.errors import ClassificationConflictError, DatasetNotFoundError, DataWarning
from falaj.data.ingest import INGEST_PREFIX, PARQUET_MEDIA_TYPE, clean_stale_scratch, ingest
from falaj.data.profile import Profile, profile_parquet
from falaj.data.registration_checks import check_rows, type_changes
from falaj.data.sources import DataFrameSource, Source
from falaj.data.tables import dataset_versions, datasets
from falaj.data.versions import (
    DatasetDiff,
    DatasetVersion,
    check_classifications,
    check_name,
    diff_versions,
    parse_version_id,
)
from falaj.errors import InvalidInputError
from falaj.governance.audit import Actor
from falaj.governance.authorization import Action
from falaj.governance.context import machinery
from falaj.governance.residency import labels_of
from falaj.governance.service import Service, ServiceContext
from falaj.lineage.graph import Node, record_edge
from falaj.store.dml import insert_ignore
from falaj.store.schema import utcnow
from falaj.textcheck import check_text

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from sqlalchemy import Connection

    from falaj.data.anomalies import AnomalyReport, Thresholds
    from falaj.data.classifications import ClassificationChange
    from falaj.data.expectations import Suite
    from falaj.data.validate import Policy, ValidationResult
    from falaj.data.validation_runs import ValidationRecord

__all__ = ["DatasetService"]

PROFILE_MEDIA_TYPE = "application/json"


class DatasetService(Service):
    """Dataset versions: Parquet bytes in the artifact store, metadata and lineage in the store."""

    def __init__(self, context: ServiceContext, artifacts: ArtifactService) -> None:
        super().__init__(context)
        self._artifacts = artifacts
        objects = artifacts.objects
        clean_stale_scratch(objects.clock(), objects.stale_after_s)  # left by killed registers

    @property
    def artifacts(self) -> ArtifactService:
        return self._artifacts

    # -- registering ---------------------------------------------------------------------------
    def register(
        self,
        name: str,
        data: pd.DataFrame | Source,
        *,
        classifications: dict[str, list[str]] | None = None,
        description: str | None = None,
        derived_from: str | None = None,
        require_rows: bool = False,
    ) -> DatasetVersion:
        """Store ``data`` as a new version of ``name``, or return the version with the same content.

        ``data`` is a pandas DataFrame or a :class:`~falaj.data.sources.Source` (streamed in
        chunks). ``derived_from`` names the dataset version (``"name@3"``) this one was made from.

        A source without rows, and a column whose type differs from the previous version's (with
        the values to blame), raise a :class:`~falaj.data.errors.DataWarning`; ``require_rows``
        refuses a source without rows (:class:`~falaj.data.errors.EmptyDatasetError`).
        """
        check_name(name)
        check_text("description", description)
        source = _as_source(data)
        # Authorized before any byte is stored: a refused principal leaves nothing behind.
        actor = self.authorize(Action.DATASET_REGISTER, "dataset", name)
        with machinery():
            return self._register(
                name, source, actor, classifications, description, derived_from, require_rows
            )

    def _register(
        self,
        name: str,
        source: Source,
        actor: Actor,
        classifications: dict[str, list[str]] | None,
        description: str | None,
        derived_from: str | None,
        require_rows: bool,
    ) -> DatasetVersion:
        parent = self._get_by_ref(derived_from) if derived_from is not None else None
        with tempfile.TemporaryDirectory(prefix=INGEST_PREFIX) as tmp:
            result = ingest(source.iter_batches(), Path(tmp) / "data.parquet")
            notes = check_rows(name, result.row_count, require_rows=require_rows)
            columns = [c["name"] for c in result.schema]
            given = check_classifications(classifications, columns)
            existing = self._find_content(name, result.content_digest)
            if existing is not None:
                _check_same_classifications(existing, given)
                _warn(notes)
                return self._record_duplicate(existing, actor)
            labels = self._inherited_classifications(name, parent, given, columns)
            # data and its metadata live in this workspace's region: refused before storing
            self.check_residency(
                Action.DATASET_REGISTER,
                "dataset",
                name,
                classifications=labels_of(labels),
                region=self.context.region,
                what=f"register dataset {name}",
            )
            previous = self._latest(name)
            if previous is not None:
                changes = type_changes(previous.id, previous.schema, result.schema, result.path)
                notes += [change.message(name) for change in changes]
            _warn(notes)
            profile = profile_parquet(
                result.path, redact=[c for c, tags in labels.items() if "pii" in tags]
            )
            profile_meta = self._artifacts.put_bytes(
                profile.to_json(), media_type=PROFILE_MEDIA_TYPE
            )
            parquet_meta = self._artifacts.put_file(result.path, media_type=PARQUET_MEDIA_TYPE)
        details = {"rows": result.row_count, "content_digest": result.content_digest}
        with self.mutation(
            Action.DATASET_REGISTER,
            "dataset_version",
            name,
            details=details,
            actor=actor,
            authorized=True,
        ) as m:
            conn = m.conn
            version = self._lock_and_number(conn, name)
            row = conn.execute(
                sa.select(dataset_versions).where(
                    dataset_versions.c.name == name,
                    dataset_versions.c.content_digest == result.content_digest,
                )
            ).one_or_none()
            if row is not None:  # a concurrent register of the same content won the race
                m.details["deduplicated"] = True
                found = _version_from_row(row)
                m.resource_id = found.id
                return found
            values = {
                "name": name,
                "version": version,
                "content_digest": result.content_digest,
                "artifact_digest": parquet_meta.digest,
                "profile_digest": profile_meta.digest,
                "schema": result.schema,
                "row_count": result.row_count,
                "size_bytes": parquet_meta.size,
                "source": source.describe(),
                "classifications": labels,
                "description": description,
                "created_by": self.principal.name,
                "created_at": utcnow(),
                "region": self.context.region,
            }
            conn.execute(sa.insert(dataset_versions).values(**values))
            conn.execute(
                sa.update(datasets).where(datasets.c.name == name).values(latest_version=version)
            )
            registered = _version_from_row(values)
            node = Node("dataset_version", registered.id)
            lineage_id = source.lineage_id()
            if lineage_id is not None:
                record_edge(
                    conn, Node("source", lineage_id), node, "ingested_from", actor.principal
                )
            if parent is not None:
                record_edge(
                    conn, Node("dataset_version", parent.id), node, "derived_from", actor.principal
                )
            record_edge(
                conn, node, Node("artifact", parquet_meta.digest), "stored_as", actor.principal
            )
            record_edge(
                conn, node, Node("artifact", profile_meta.digest), "profiled_as", actor.principal
            )
            m.resource_id = registered.id
            m.details.update(deduplicated=False, classifications=labels, source=source.describe())
        return registered

    def _inherited_classifications(
        self,
        name: str,
        parent: DatasetVersion | None,
        given: dict[str, list[str]],
        columns: list[str],
    ) -> dict[str, list[str]]:
        """The dataset's labels in force, the parent's, and the given ones, for ``columns``."""
        from falaj.data.classifications import current_classifications, merge_classifications

        with self.store.read() as conn:
            dataset_level = current_classifications(conn, name)
        inherited = parent.classifications if parent is not None else None
        return merge_classifications(given, inherited, dataset_level, columns=columns)

    def classify(
        self, name: str, labels: dict[str, Any], *, reason: str | None = None
    ) -> dict[str, list[str]]:
        """Label columns of ``name`` (``{"email": ["pii"]}``; ``[]`` clears) for the versions
        registered from now on; audited and kept in :meth:`classification_history`. Returns the
        dataset-level classifications in force."""
        from falaj.data.classifications import classify

        self.authorize(Action.DATASET_CLASSIFY, "dataset", str(name))
        with machinery():  # reading the latest version is part of it
            return classify(self, name, labels, reason=reason)

    def classification_history(self, name: str) -> list[ClassificationChange]:
        """Every classification change of ``name``, oldest first."""
        from falaj.data.classifications import history

        self.authorize(Action.DATASET_READ, "dataset", str(name))
        return history(self, name)

    def _lock_and_number(self, conn: Connection, name: str) -> int:
        """Lock the dataset's row (creating it) and return the next version number."""
        insert_ignore(
            conn,
            datasets,
            {
                "name": name,
                "latest_version": 0,
                "created_by": self.principal.name,
                "created_at": utcnow(),
            },
        )
        # A no-op update takes the row lock on PostgreSQL; SQLite already holds the write lock.
        conn.execute(
            sa.update(datasets)
            .where(datasets.c.name == name)
            .values(latest_version=datasets.c.latest_version)
        )
        latest = conn.execute(
            sa.select(sa.func.max(dataset_versions.c.version)).where(
                dataset_versions.c.name == name
            )
        ).scalar_one_or_none()
        return int(latest or 0) + 1

    def _latest(self, name: str) -> DatasetVersion | None:
        try:
            return self.get(name)
        except DatasetNotFoundError:
            return None

    def _record_duplicate(self, existing: DatasetVersion, actor: Actor) -> DatasetVersion:
        details = {"content_digest": existing.content_digest, "deduplicated": True}
        with self.mutation(
            Action.DATASET_REGISTER,
            "dataset_version",
            existing.id,
            details=details,
            actor=actor,
            authorized=True,
        ):
            pass
        return existing

    def _find_content(self, name: str, content_digest: str) -> DatasetVersion | None:
        with self.store.read() as conn:
            row = conn.execute(
                sa.select(dataset_versions).where(
                    dataset_versions.c.name == name,
                    dataset_versions.c.content_digest == content_digest,
                )
            ).one_or_none()
        return None if row is None else _version_from_row(row)

    # -- reading -------------------------------------------------------------------------------
    def get(self, name: str, version: int | None = None) -> DatasetVersion:
        """A version (``get("credit", 2)`` or ``get("credit@2")``); the latest when not given."""
        dataset, number = parse_version_id(name, version)
        self.authorize(Action.DATASET_READ, "dataset", dataset)
        query = sa.select(dataset_versions).where(dataset_versions.c.name == dataset)
        if number is None:
            query = query.order_by(dataset_versions.c.version.desc()).limit(1)
        else:
            query = query.where(dataset_versions.c.version == number)
        with self.store.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            if number is None:
                raise DatasetNotFoundError(f"dataset {dataset!r} is not registered")
            raise DatasetNotFoundError(f"dataset version {dataset}@{number} does not exist")
        return _version_from_row(row)

    def _get_by_ref(self, ref: str) -> DatasetVersion:
        return self.get(ref)

    def versions(self, name: str) -> list[DatasetVersion]:
        """Every version of ``name``, oldest first."""
        check_name(name)
        self.authorize(Action.DATASET_READ, "dataset", name)
        query = (
            sa.select(dataset_versions)
            .where(dataset_versions.c.name == name)
            .order_by(dataset_versions.c.version)
        )
        with self.store.read() as conn:
            rows = conn.execute(query).all()
        if not rows:
            raise DatasetNotFoundError(f"dataset {name!r} is not registered")
        return [_version_from_row(r) for r in rows]

    def latest_versions(self) -> list[DatasetVersion]:
        """The latest version of every dataset, by name."""
        self.authorize(Action.DATASET_READ, "dataset", "*")
        latest = (
            sa.select(datasets.c.name, datasets.c.latest_version)
            .where(datasets.c.latest_version > 0)
            .subquery()
        )
        query = (
            sa.select(dataset_versions)
            .join(
                latest,
                sa.and_(
                    latest.c.name == dataset_versions.c.name,
                    latest.c.latest_version == dataset_versions.c.version,
                ),
            )
            .order_by(dataset_versions.c.name)
        )
        with self.store.read() as conn:
            return [_version_from_row(r) for r in conn.execute(query)]

    def load_table(self, name: str, version: int | None = None) -> pa.Table:
        """The version's rows as an Arrow table, read from digest-verified Parquet bytes."""
        import pyarrow.parquet as pq

        meta = self.get(name, version)
        with machinery(), self._artifacts.local_path(meta.artifact_digest) as path:
            table = pq.read_table(path, memory_map=False)
        return table

    def export(
        self, name: str, dest: str | Path, *, region: str, version: int | None = None
    ) -> Path:
        """Copy the version's Parquet file to ``dest``, which lies in ``region``.

        Refused (:class:`~falaj.governance.errors.ResidencyViolationError`, audited) when the
        version's classifications may not live in ``region``; audited as ``dataset.export``.
        """
        check_name(name)
        if not isinstance(region, str) or not region.strip():
            raise InvalidInputError(
                f"region {region!r} is invalid: expected the destination's region"
            )
        actor = self.authorize(Action.DATASET_EXPORT, "dataset", name)
        with machinery():
            meta = self.get(name, version)
        self.check_residency(
            Action.DATASET_EXPORT,
            "dataset_version",
            meta.id,
            classifications=labels_of(meta.classifications),
            region=region,
            what=f"export dataset {meta.id}",
        )
        with machinery():
            path = self._artifacts.get_file(meta.artifact_digest, dest)
        with self.mutation(
            Action.DATASET_EXPORT,
            "dataset_version",
            meta.id,
            details={"region": region, "dest": str(path), "digest": meta.artifact_digest},
            actor=actor,
            authorized=True,
        ):
            pass
        return path

    def load(self, name: str, version: int | None = None) -> pd.DataFrame:
        """The version's rows as a pandas DataFrame (bytes verified against their digest)."""
        frame: pd.DataFrame = self.load_table(name, version).to_pandas()
        return frame

    def profile(self, name: str, version: int | None = None) -> Profile:
        """The profile stored with the version."""
        meta = self.get(name, version)
        with machinery():
            if meta.profile_digest is None:
                with self._artifacts.local_path(meta.artifact_digest) as path:
                    return profile_parquet(path, redact=meta.columns_labelled("pii"))
            return Profile.from_json(self._artifacts.get_bytes(meta.profile_digest))

    def diff(self, a: str, b: str) -> DatasetDiff:
        """Schema, row-count and per-column statistic changes from version ``a`` to ``b``."""
        va, vb = self.get(a), self.get(b)
        with machinery():
            return diff_versions(va, vb, self.profile(va.id), self.profile(vb.id))

    # -- validation and anomalies ----------------------------------------------------------
    def validate(
        self,
        data_or_id: pd.DataFrame | str,
        suite: Suite | str | Path | dict[str, Any],
        *,
        policy: Policy = "fail",
        name: str | None = None,
    ) -> ValidationResult:
        """Check data against an expectation suite; see :mod:`falaj.data.validate` for policies.

        ``data_or_id`` is a registered version (``"name@3"``, or ``"name"`` for the latest) or a
        DataFrame. ``suite`` is a :class:`~falaj.data.expectations.Suite`, a YAML file path, YAML
        text or a dict. The report is stored and linked to the version. ``name`` files the
        quarantined rows of a DataFrame under ``f"{name}__quarantine"``.
        """
        from falaj.data.validation_runs import run_validation

        target = data_or_id if isinstance(data_or_id, str) else (name or "dataframe")
        self.authorize(Action.DATASET_VALIDATE, "dataset", str(target)[:200])
        with machinery():  # its reads, the quarantine version and the report are part of it
            return run_validation(self, data_or_id, suite, policy=policy, name=name)

    def validation_status(self, dataset_version_id: str) -> str | None:
        """Status of the latest validation of the version: passed, warned, failed, or None."""
        from falaj.data.validation_runs import latest_status

        self.authorize(Action.DATASET_READ, "dataset_version", str(dataset_version_id))
        return latest_status(self, dataset_version_id)

    def validations(self, dataset_version_id: str) -> list[ValidationRecord]:
        """Every validation run of the version, newest first."""
        from falaj.data.validation_runs import list_validations

        self.authorize(Action.DATASET_READ, "dataset_version", str(dataset_version_id))
        return list_validations(self, dataset_version_id)

    def detect_anomalies(
        self,
        batch: pd.DataFrame | str,
        reference: str,
        *,
        thresholds: Thresholds | dict[str, float] | None = None,
        outliers: bool = False,
    ) -> AnomalyReport:
        """Compare a batch (a DataFrame or a version id) with a reference version's profile.

        A version id is compared out of core (its stored profile plus DuckDB scans of its
        Parquet file, within bounded memory), except with ``outliers``, which loads both
        versions to fit an IsolationForest.

        ``thresholds`` is a :class:`~falaj.data.anomalies.Thresholds` or a dict of some of its
        fields (``{"psi_alert": 0.3}``); the others keep their defaults.
        """
        from falaj.data.anomalies import detect

        self.authorize(Action.DATASET_READ, "dataset", str(reference)[:200])
        with machinery():
            ref = self.get(reference)
            if isinstance(batch, str) and not outliers:
                # out of core: the batch's stored profile plus DuckDB scans of its Parquet file
                from falaj.data.anomaly_scan import detect_file

                version = self.get(batch)
                with self._artifacts.local_path(version.artifact_digest) as path:
                    return detect_file(
                        self.profile(ref.id),
                        self.profile(version.id),
                        path,
                        thresholds=thresholds,
                        reference_id=ref.id,
                    )
            frame = self.load(batch) if isinstance(batch, str) else batch
            reference_frame = self.load(ref.id) if outliers else None
            profile = self.profile(ref.id)
        return detect(
            profile,
            frame,
            thresholds=thresholds,
            reference_id=ref.id,
            reference_frame=reference_frame,
        )


def _check_same_classifications(existing: DatasetVersion, given: dict[str, list[str]]) -> None:
    """Registering known content again must not silently drop the classifications given."""
    missing = {
        column: sorted(set(labels) - set(existing.classifications.get(column, [])))
        for column, labels in given.items()
        if set(labels) - set(existing.classifications.get(column, []))
    }
    if missing:
        raise ClassificationConflictError(
            f"{existing.id} already holds this content with classifications "
            f"{existing.classifications or '{}'}; the labels {missing} given now would be "
            f"ignored: versions are immutable, so label the columns with `falaj data classify "
            f"{existing.name} COLUMN=LABEL` (ws.datasets.classify) for the versions to come"
        )


def _as_source(data: Any) -> Source:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return DataFrameSource(data)
    if isinstance(data, Source):
        return data
    raise InvalidInputError(
        f"data of type {type(data).__name__} cannot be registered: expected a pandas DataFrame "
        "or a Source (CsvSource, ParquetSource, SqlSource)"
    )


def _version_from_row(row: Any) -> DatasetVersion:
    m = row if isinstance(row, dict) else row._mapping
    return DatasetVersion(
        name=m["name"],
        version=int(m["version"]),
        content_digest=m["content_digest"],
        artifact_digest=m["artifact_digest"],
        profile_digest=m["profile_digest"],
        schema=list(m["schema"]),
        row_count=int(m["row_count"]),
        size_bytes=int(m["size_bytes"]),
        source=dict(m["source"]),
        classifications={k: list(v) for k, v in dict(m["classifications"]).items()},
        description=m["description"],
        created_by=m["created_by"],
        created_at=m["created_at"],
        region=m["region"],
    )


def _warn(notes: list[str]) -> None:
    for note in notes:
        warnings.warn(DataWarning(note), stacklevel=3)
