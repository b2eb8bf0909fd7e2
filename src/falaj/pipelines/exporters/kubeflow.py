"""Export a pipeline as a Kubeflow Pipelines spec (compiled with the kfp SDK).

One container task per step running ``falaj step run`` with the pipeline job's id as the run
key; the step's resources become the task's CPU, memory and accelerator limits. KFP's own
caching is off: Falaj's cache decides what to skip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from falaj.errors import BackendUnavailableError, InvalidInputError
from falaj.pipelines.exporters.command import step_command
from falaj.pipelines.graph import Pipeline

__all__ = ["export_kubeflow"]

RUN_KEY_INPUT = "run_key"


def _component(dsl: Any, pipe: Pipeline, step: str, image: str, home: str | None) -> Any:
    argv = step_command(pipe, step, "RUN_KEY", home=home)
    key_at = argv.index("RUN_KEY")
    safe = "".join(c if c.isalnum() else "-" for c in step).strip("-").lower() or "step"

    def body(run_key: str) -> Any:
        args = [*argv[1:key_at], run_key, *argv[key_at + 1 :]]
        return dsl.ContainerSpec(image=image, command=[argv[0]], args=args)

    body.__name__ = f"falaj_{safe.replace('-', '_')}"
    body.__annotations__ = {"run_key": str, "return": dsl.ContainerSpec}
    return dsl.container_component(body)


def export_kubeflow(
    pipe: Pipeline,
    path: str | Path,
    *,
    image: str = "falaj:latest",
    home: str | None = None,
) -> Path:
    """Compile the pipeline to a KFP v2 YAML spec at ``path``."""
    try:
        from kfp import compiler, dsl
    except ImportError as exc:
        raise BackendUnavailableError(
            "exporting to Kubeflow needs the kfp SDK: pip install 'kfp>=2.7'"
        ) from exc
    components = {step: _component(dsl, pipe, step, image, home) for step in pipe.order}

    def build() -> None:
        tasks: dict[str, Any] = {}
        for step in pipe.order:
            task = components[step](run_key=dsl.PIPELINE_JOB_ID_PLACEHOLDER)
            task.set_display_name(step)
            task.set_caching_options(False)
            res = pipe.nodes[step].step.options.resources
            task.set_cpu_limit(f"{res.cpus:g}")
            if res.memory is not None:
                task.set_memory_limit(str(res.memory))
            if res.gpus:
                task.set_accelerator_type("nvidia.com/gpu")
                task.set_accelerator_limit(int(res.gpus))
            for up in sorted(pipe.nodes[step].upstream):
                task.after(tasks[up])
            tasks[step] = task

    build.__annotations__ = {}  # kfp reads annotations as component outputs
    build.__name__ = "".join(c if c.isalnum() else "_" for c in pipe.name)
    kfp_pipeline = dsl.pipeline(name=pipe.name.replace("_", "-").lower())(build)
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        compiler.Compiler().compile(kfp_pipeline, str(target))
    except OSError as exc:
        raise InvalidInputError(
            f"cannot write the Kubeflow spec to {target}: {exc.strerror or exc}"
        ) from exc
    return target
