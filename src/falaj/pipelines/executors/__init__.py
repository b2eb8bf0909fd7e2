"""Executors: where step attempts run (threads or child processes here, or Ray tasks)."""

from falaj.pipelines.executors.base import Executor
from falaj.pipelines.executors.local import LocalExecutor

__all__ = ["Executor", "LocalExecutor", "RayExecutor"]


def __getattr__(name: str) -> object:
    if name == "RayExecutor":  # imports ray only when asked for
        from falaj.pipelines.executors.ray import RayExecutor

        return RayExecutor
    raise AttributeError(name)
