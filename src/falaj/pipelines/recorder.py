"""Recording step runs: outputs and logs into the artifact store, then the step-run row with
its outputs, cache entry and lineage in one audited transaction."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from falaj.pipelines import repository as repo
from falaj.pipelines.dataset_reads import READ, current_reads, reads_of, with_datasets
from falaj.pipelines.graph import StepNode
from falaj.pipelines.records import CACHED, FAILED, RUNNING, SUCCEEDED, StepOutput, StepRun
from falaj.pipelines.task import StepResult
from falaj.store.schema import utcnow

if TYPE_CHECKING:
    from falaj.pipelines.service import PipelineService

__all__ = ["StepRecorder"]


class StepRecorder:
    """Writes what the runner learns about each step; reads the cache."""

    def __init__(self, service: PipelineService) -> None:
        self._svc = service

    def cached(self, key: str) -> StepRun | None:
        """The step run to reuse for static ``key``: when the step read datasets by name, only
        one that read the versions those names resolve to now (:mod:`.dataset_reads`)."""
        with self._svc.store.read() as conn:
            hit = repo.find_cached(conn, key)
        if hit is None:
            return None
        names = self._read_names(hit.id)
        if names:
            reads = current_reads(names, _LatestVersions(self._svc))
            if reads is None:
                return None  # a dataset it read is gone: run the step again
            with self._svc.store.read() as conn:
                hit = repo.find_cached(conn, with_datasets(key, reads))
            if hit is None:
                return None
        objects = self._svc.artifacts.objects
        if not all(objects.exists(o.digest) for o in hit.outputs.values()):
            return None  # outputs lost from the store: run the step again
        return hit

    def record_cached(
        self,
        run_id: str,
        node: StepNode,
        step_run_id: str,
        hit: StepRun,
        input_digests: dict[str, str],
        executor: str,
    ) -> StepRun:
        now = utcnow()
        values = self._values(
            run_id,
            node,
            step_run_id,
            hit.cache_key,
            input_digests,
            CACHED,
            0,
            executor,
            None,
            None,
            now,
            now,
        )
        values["cached_from"] = hit.id
        outputs = list(hit.outputs.values())
        with self._svc.mutation(
            "pipeline.step.record",
            "step_run",
            step_run_id,
            details={"step": node.name, "status": CACHED, "cache_key": hit.cache_key},
        ) as m:
            repo.insert_step_run(
                m.conn,
                principal=self._svc.principal,
                values=values,
                outputs=outputs,
                cacheable=False,
                links=[],
            )
        return self._as_record(values, outputs)

    def record_started(
        self,
        run_id: str,
        node: StepNode,
        step_run_id: str,
        key: str,
        input_digests: dict[str, str],
        executor: str,
    ) -> None:
        """Write the step run (RUNNING) before the step runs, so a killed step leaves its row.

        Until the step ends, ``ended_at`` is the last time its logs were stored.
        """
        now = utcnow()
        values = self._values(
            run_id, node, step_run_id, key, input_digests, RUNNING, 1, executor, None, None,
            now, now,
        )  # fmt: skip
        with self._svc.mutation(
            "pipeline.step.start",
            "step_run",
            step_run_id,
            details={"step": node.name, "status": RUNNING, "cache_key": key},
        ) as m:
            repo.insert_step_run(
                m.conn,
                principal=self._svc.principal,
                values=values,
                outputs=[],
                cacheable=False,
                links=[],
            )

    def record_logs(self, step_run_id: str, logs: bytes) -> bool:
        """Store the logs a running step wrote so far; False once the step run has ended."""
        digest = self._svc.artifacts.put_bytes(logs, media_type="text/plain").digest
        with self._svc.mutation(
            "pipeline.step.logs", "step_run", step_run_id, details={"log_digest": digest}
        ) as m:
            return repo.set_step_progress(m.conn, step_run_id, log_digest=digest, seen_at=utcnow())

    def record(
        self,
        run_id: str,
        node: StepNode,
        step_run_id: str,
        key: str,
        input_digests: dict[str, str],
        attempts: list[StepResult],
        executor: str,
    ) -> StepRun:
        last = attempts[-1]
        logs = "".join(
            f"--- attempt {i} ---\n{r.logs}" if len(attempts) > 1 else r.logs
            for i, r in enumerate(attempts, start=1)
        )
        if not last.ok and last.error and last.error not in logs:
            logs += f"{last.error}\n"
        log_digest = (
            self._svc.artifacts.put_bytes(logs.encode("utf-8"), media_type="text/plain").digest
            if logs
            else None
        )
        outputs = []
        for name, mat in last.outputs.items():
            info = self._svc.artifacts.put_bytes(mat.data, media_type=mat.media_type)
            outputs.append(StepOutput(name, info.digest, mat.materializer, mat.media_type))
        status = SUCCEEDED if last.ok else FAILED
        reads = reads_of(last.links) if last.ok else {}
        values = self._values(
            run_id,
            node,
            step_run_id,
            with_datasets(key, reads),
            input_digests,
            status,
            len(attempts),
            executor,
            last.error,
            log_digest,
            attempts[0].started_at,
            last.ended_at,
        )
        with self._svc.mutation(
            "pipeline.step.record",
            "step_run",
            step_run_id,
            details={"step": node.name, "status": status, "cache_key": values["cache_key"]},
        ) as m:
            repo.insert_step_run(
                m.conn,
                principal=self._svc.principal,
                values=values,
                outputs=outputs,
                cacheable=node.step.options.cache,
                links=last.links,
                probe_key=key if reads else None,
            )
        return self._as_record(values, outputs)

    def _read_names(self, step_run_id: str) -> list[str]:
        """Names of the datasets a step run read by name (from its lineage ``read`` edges)."""
        from falaj.lineage.graph import LineageService, Node

        edges = LineageService(self._svc.context).upstream(
            Node("step_run", step_run_id), max_depth=1
        )
        return sorted(
            {
                e.source.id.rpartition("@")[0]
                for e in edges
                if e.relation == READ and e.source.kind == "dataset_version"
            }
        )

    def _values(
        self,
        run_id: str,
        node: StepNode,
        step_run_id: str,
        key: str,
        input_digests: dict[str, str],
        status: str,
        attempts: int,
        executor: str,
        error: str | None,
        log_digest: str | None,
        started: dt.datetime,
        ended: dt.datetime,
    ) -> dict[str, Any]:
        return {
            "id": step_run_id,
            "pipeline_run_id": run_id,
            "step": node.name,
            "function": node.step.function[:500],
            "status": status,
            "cache_key": key,
            "code_hash": node.step.code_hash,
            "params": node.params,
            "inputs": input_digests,
            "attempts": attempts,
            "executor": executor,
            "error": error,
            "log_digest": log_digest,
            "cached_from": None,
            "created_by": self._svc.principal.name,
            "started_at": started,
            "ended_at": ended,
        }

    @staticmethod
    def _as_record(values: dict[str, Any], outputs: list[StepOutput]) -> StepRun:
        return StepRun(**values, outputs={o.name: o for o in outputs})


class _LatestVersions:
    """:class:`~falaj.pipelines.dataset_reads.DatasetLookup` over the data service."""

    def __init__(self, service: PipelineService) -> None:
        from falaj.data.service import DatasetService

        self._datasets = DatasetService(service.context, service.artifacts)

    def latest_id(self, name: str) -> str | None:
        from falaj.data.errors import DatasetNotFoundError

        try:
            return self._datasets.get(name).id
        except DatasetNotFoundError:
            return None
