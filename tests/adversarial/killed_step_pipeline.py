"""A pipeline whose second step prints, then blocks until its process is killed.

Run as a script by tests/adversarial/test_killed_step.py: ``python killed_step_pipeline.py HOME``.
"""

from __future__ import annotations

import sys
import threading

from falaj.pipelines import pipeline, step


@step
def prepare() -> int:
    print("prepared")
    return 41


@step
def stuck(value: int) -> int:
    print(f"partial line before the kill: {value}", flush=True)
    threading.Event().wait()  # until SIGKILL
    return value + 1


@pipeline
def killed_mid_step() -> None:
    stuck(prepare())


if __name__ == "__main__":
    from falaj.workspace import Workspace

    with Workspace.open(sys.argv[1]) as ws:
        ws.pipelines.run(killed_mid_step)
