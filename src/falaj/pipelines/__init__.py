"""Pipelines: ``@step`` functions composed by ``@pipeline`` (or a YAML spec) into a DAG, run
locally or on Ray with caching, retries, timeouts, resume, schedules and recorded lineage.

Reached through ``ws.pipelines`` (:class:`~falaj.pipelines.service.PipelineService`).
"""

from falaj.pipelines.context import StepContext
from falaj.pipelines.graph import Pipeline, PipelineDef, pipeline
from falaj.pipelines.records import PipelineRun, StepRun
from falaj.pipelines.spec import load_pipeline, load_spec
from falaj.pipelines.step import OutputHandle, Resources, Step, StepOptions, step

__all__ = [
    "OutputHandle",
    "Pipeline",
    "PipelineDef",
    "PipelineRun",
    "Resources",
    "Step",
    "StepContext",
    "StepOptions",
    "StepRun",
    "load_pipeline",
    "load_spec",
    "pipeline",
    "step",
]
