"""Errors of the pipelines capability (subclasses of the one Falaj tree)."""

from __future__ import annotations

from falaj.errors import ConflictError, ExecutionError, InvalidInputError, NotFoundError

__all__ = [
    "PipelineCycleError",
    "PipelineDefinitionError",
    "PipelineNotFoundError",
    "PipelineRunNotFoundError",
    "RunStateError",
    "ScheduleNotFoundError",
    "StepFailedError",
    "StepNotFoundError",
    "StepTimeoutError",
    "UnsafeOutputError",
]


class PipelineDefinitionError(InvalidInputError):
    """A step or pipeline is declared or wired wrongly (names the step and the field)."""


class PipelineCycleError(PipelineDefinitionError):
    """The steps' data dependencies form a cycle."""


class UnsafeOutputError(InvalidInputError):
    """A step returned a value that can only be stored with pickle, and it is not trusted."""


class PipelineNotFoundError(NotFoundError):
    """A pipeline source (module:attr or YAML file) cannot be found."""


class PipelineRunNotFoundError(NotFoundError):
    """No pipeline run or step run with that id."""


class StepNotFoundError(NotFoundError):
    """The pipeline has no step with that name."""


class ScheduleNotFoundError(NotFoundError):
    """No schedule with that name."""


class StepFailedError(ExecutionError):
    """A step failed (after its retries); the pipeline run is marked FAILED."""

    def __init__(self, message: str, *, run_id: str, step: str) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.step = step


class StepTimeoutError(ExecutionError):
    """A step ran longer than its timeout and was stopped."""


class RunStateError(ConflictError):
    """The pipeline run is not in a state that allows this (e.g. resuming a finished run)."""
