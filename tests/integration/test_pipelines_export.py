"""Exports loaded by the real orchestrator libraries, and their commands run for real.

Kubeflow: the kfp SDK compiles the spec and loads it back. Airflow: the DAG file is loaded by
Airflow's DagBag in the separate virtual environment .venv-airflow (scripts/setup-airflow-venv.sh
creates it); each task's `falaj step run` command is then executed in dependency order.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from falaj.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_PYTHON = ROOT / ".venv-airflow" / "bin" / "python"
FALAJ = str(Path(sys.executable).with_name("falaj"))
SOURCE = "tests.unit.pipelines.sample_steps:linear"

_LOAD_DAGS = """
import inspect, json, sys
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag
kw = {"include_examples": False} if "include_examples" in inspect.signature(
    DagBag.__init__).parameters else {}
bag = DagBag(dag_folder=sys.argv[1], **kw)
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    out["dags"][dag_id] = {
        t.task_id: {"upstream": sorted(t.upstream_task_ids), "command": t.bash_command,
                    "retries": t.retries}
        for t in dag.tasks
    }
print("FALAJ-JSON" + json.dumps(out))
"""


def _falaj(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FALAJ, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _run_in_order(commands: dict[str, list[str]], upstream: dict[str, list[str]]) -> None:
    done: set[str] = set()
    while len(done) < len(commands):
        ready = [t for t in commands if t not in done and set(upstream[t]) <= done]
        assert ready, f"no runnable task among {sorted(set(commands) - done)}"
        for task in ready:
            argv = commands[task]
            proc = subprocess.run(
                [FALAJ, *argv[1:]],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert proc.returncode == 0, proc.stderr + proc.stdout
            done.add(task)


def test_kubeflow_spec_compiles_loads_and_its_commands_run(ws: Workspace, tmp_path: Path) -> None:
    kfp_components = pytest.importorskip("kfp.components")
    out = tmp_path / "linear.yaml"
    proc = _falaj(
        "pipeline",
        "export",
        SOURCE,
        "--to",
        "kubeflow",
        "-o",
        str(out),
        "--workspace-home",
        str(ws.home),
        "--image",
        "ghcr.io/falaj/falaj:1",
    )
    assert proc.returncode == 0, proc.stderr
    component = kfp_components.load_component_from_file(str(out))
    dag = component.pipeline_spec.root.dag
    assert set(dag.tasks) == {"falaj-make-frame", "falaj-add-one", "falaj-summarize"}
    assert list(dag.tasks["falaj-summarize"].dependent_tasks) == ["falaj-add-one"]
    spec = yaml.safe_load(out.read_text())
    executors = spec["deploymentSpec"]["executors"]
    commands: dict[str, list[str]] = {}
    upstream: dict[str, list[str]] = {}
    for task_name, task in spec["root"]["dag"]["tasks"].items():
        container = executors[task["componentRef"]["name"].replace("comp-", "exec-")]["container"]
        assert container["image"] == "ghcr.io/falaj/falaj:1"
        args = [
            a.replace("{{$.inputs.parameters['run_key']}}", "kfp-job-1") for a in container["args"]
        ]
        commands[task_name] = [*container["command"], *args]
        upstream[task_name] = task.get("dependentTasks", [])
    _run_in_order(commands, upstream)
    run = ws.pipelines.list_runs(limit=1)[0]
    assert (run.external_key, run.status) == ("kfp-job-1", "SUCCEEDED")
    assert [s.step for s in ws.pipelines.get_run(run.id).steps] == [
        "make_frame",
        "add_one",
        "summarize",
    ]


def _load_dags(folder: Path) -> dict[str, Any]:
    if not AIRFLOW_PYTHON.exists():
        pytest.skip(
            ".venv-airflow is absent: run scripts/setup-airflow-venv.sh to test Airflow exports"
        )
    proc = subprocess.run(
        [str(AIRFLOW_PYTHON), "-c", _LOAD_DAGS, str(folder)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={"AIRFLOW_HOME": str(folder.parent / "airflow-home"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    payload: dict[str, Any] = json.loads(proc.stdout.split("FALAJ-JSON", 1)[1])
    return payload


def test_airflow_dag_loads_in_airflow_and_its_tasks_run(ws: Workspace, tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    proc = _falaj(
        "pipeline",
        "export",
        SOURCE,
        "--to",
        "airflow",
        "-o",
        str(dags / "linear_dag.py"),
        "--workspace-home",
        str(ws.home),
        "--schedule",
        "0 3 * * *",
    )
    assert proc.returncode == 0, proc.stderr
    loaded = _load_dags(dags)
    assert loaded["errors"] == {}
    tasks = loaded["dags"]["falaj_linear"]
    assert {t: v["upstream"] for t, v in tasks.items()} == {
        "make_frame": [],
        "add_one": ["make_frame"],
        "summarize": ["add_one"],
    }
    assert all(v["retries"] == 0 for v in tasks.values())
    commands = {
        t: shlex.split(v["command"].replace("{{ run_id }}", "manual__2026-11-26"))
        for t, v in tasks.items()
    }
    _run_in_order(commands, {t: v["upstream"] for t, v in tasks.items()})
    run = ws.pipelines.list_runs(limit=1)[0]
    assert (run.external_key, run.status) == ("manual__2026-11-26", "SUCCEEDED")
