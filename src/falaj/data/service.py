"""``ws.datasets``: register, find, load, profile, diff, validate and watch dataset versions."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from falaj.artifacts.service import ArtifactService
from falaj.data.errors import DatasetNotFoundError
from falaj.data.ingest import INGEST_PREFIX, PARQUET_MEDIA_TYPE, clean_stale_scratch, ingest
from falaj.data.profile import Profile, profile_parquet
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
from falaj.governance.service import Service, ServiceContext
from falaj.lineage.graph import Node, record_edge
from falaj.store.dml import insert_ignore
from falaj.store.schema import utcnow

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from sqlalchemy import Connection

    from falaj.data.anomalies import AnomalyReport, Thresholds
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
    ) -> DatasetVersion:
        """Store ``data`` as a new version of ``name``, or return the version with the same content.

        ``data`` is a pandas DataFrame or a :class:`~falaj.data.sources.Source` (streamed in
        chunks). ``derived_from`` names the dataset version (``"name@3"``) this one was made from.
        """
        check_name(name)
        if description is not None and not isinstance(description, str):
            raise InvalidInputError(
                f"description {description!r} is invalid: expected text or None"
            )
        source = _as_source(data)
        parent = self._get_by_ref(derived_from) if derived_from is not None else None
        with tempfile.TemporaryDirectory(prefix=INGEST_PREFIX) as tmp:
            result = ingest(source.iter_batches(), Path(tmp) / "data.parquet")
            labels = check_classifications(classifications, [c["name"] for c in result.schema])
            existing = self._find_content(name, result.content_digest)
            if existing is not None:
                return self._record_duplicate(existing)
            profile = profile_parquet(
                result.path, redact=[c for c, tags in labels.items() if "pii" in tags]
            )
            profile_meta = self._artifacts.put_bytes(
                profile.to_json(), media_type=PROFILE_MEDIA_TYPE
            )
            parquet_meta = self._artifacts.put_file(result.path, media_type=PARQUET_MEDIA_TYPE)
        details = {"rows": result.row_count, "content_digest": result.content_digest}
        with self.mutation("dataset.register", "dataset_version", name, details=details) as m:
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
                record_edge(conn, Node("source", lineage_id), node, "ingested_from", self.principal)
            if parent is not None:
                record_edge(
                    conn, Node("dataset_version", parent.id), node, "derived_from", self.principal
                )
            record_edge(
                conn, node, Node("artifact", parquet_meta.digest), "stored_as", self.principal
            )
            record_edge(
                conn, node, Node("artifact", profile_meta.digest), "profiled_as", self.principal
            )
            m.resource_id = registered.id
            m.details.update(deduplicated=False, classifications=labels, source=source.describe())
        return registered

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

    def _record_duplicate(self, existing: DatasetVersion) -> DatasetVersion:
        details = {"content_digest": existing.content_digest, "deduplicated": True}
        with self.mutation("dataset.register", "dataset_version", existing.id, details=details):
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
        with self._artifacts.local_path(meta.artifact_digest) as path:
            table = pq.read_table(path, memory_map=False)
        return table

    def load(self, name: str, version: int | None = None) -> pd.DataFrame:
        """The version's rows as a pandas DataFrame (bytes verified against their digest)."""
        frame: pd.DataFrame = self.load_table(name, version).to_pandas()
        return frame

    def profile(self, name: str, version: int | None = None) -> Profile:
        """The profile stored with the version."""
        meta = self.get(name, version)
        if meta.profile_digest is None:
            with self._artifacts.local_path(meta.artifact_digest) as path:
                return profile_parquet(path, redact=meta.columns_labelled("pii"))
        return Profile.from_json(self._artifacts.get_bytes(meta.profile_digest))

    def diff(self, a: str, b: str) -> DatasetDiff:
        """Schema, row-count and per-column statistic changes from version ``a`` to ``b``."""
        va, vb = self.get(a), self.get(b)
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

        return run_validation(self, data_or_id, suite, policy=policy, name=name)

    def validation_status(self, dataset_version_id: str) -> str | None:
        """Status of the latest validation of the version: passed, warned, failed, or None."""
        from falaj.data.validation_runs import latest_status

        return latest_status(self, dataset_version_id)

    def validations(self, dataset_version_id: str) -> list[ValidationRecord]:
        """Every validation run of the version, newest first."""
        from falaj.data.validation_runs import list_validations

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
        return detect(
            self.profile(ref.id),
            frame,
            thresholds=thresholds,
            reference_id=ref.id,
            reference_frame=reference_frame,
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
