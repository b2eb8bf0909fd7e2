"""The pipelines CLI as a user types it: run, cached re-run, show, failure, resume, lineage,
schedule + scheduler, YAML specs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from tests.e2e.conftest import run_falaj

ROOT = Path(__file__).resolve().parents[2]
MOD = "tests.unit.pipelines.sample_steps"


def falaj(home: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_falaj("--home", str(home), *args, cwd=ROOT)


def test_run_rerun_from_cache_show_and_lineage(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert run_falaj("init", str(home)).code == 0
    first = falaj(home, "pipeline", "run", f"{MOD}:linear", "-p", "rows=3", "--json")
    assert first.code == 0, first.err
    run = json.loads(first.out)
    assert run["status"] == "SUCCEEDED"
    keys = [s["cache_key"][:12] for s in run["steps"]]
    assert all(k in first.err for k in keys)  # the progress view shows each cache key

    second = falaj(home, "pipeline", "run", f"{MOD}:linear", "-p", "rows=3")
    assert second.code == 0, second.err
    assert second.out.count("CACHED") == 3
    assert "cached" in second.err

    shown = json.loads(falaj(home, "pipeline", "show", run["id"], "--json").out)
    assert [s["step"] for s in shown["steps"]] == ["make_frame", "add_one", "summarize"]
    logs = falaj(home, "pipeline", "show", run["id"], "--logs", "make_frame")
    assert logs.out == "making 3 rows\n"

    runs = json.loads(falaj(home, "pipeline", "list-runs", "--json").out)
    assert len(runs) == 2

    digest = shown["steps"][-1]["outputs"]["output"]["digest"]
    lineage = falaj(home, "lineage", digest, "--json")
    assert lineage.code == 0, lineage.err
    graph = json.loads(lineage.out)
    assert f"pipeline_run:{run['id']}" in graph["nodes"]
    tree = falaj(home, "lineage", f"pipeline_run:{run['id']}", "--direction", "down")
    assert "used by" in tree.out and "step_run" in tree.out and "artifact" in tree.out


def test_failed_run_names_the_step_and_resume_finishes_it(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert run_falaj("init", str(home)).code == 0
    flag = tmp_path / "flag"
    flag.write_text("fail")
    failed = falaj(home, "pipeline", "run", f"{MOD}:gated", "-p", f"flag={flag}")
    assert failed.code == 10
    assert "step 'gate' failed: ValueError: gate is closed" in failed.err
    run_id = json.loads(falaj(home, "pipeline", "list-runs", "--json").out)[0]["id"]
    flag.write_text("open")
    resumed = falaj(home, "pipeline", "resume", run_id)
    assert resumed.code == 0, resumed.err
    assert "SUCCEEDED" in resumed.out
    shown = json.loads(falaj(home, "pipeline", "show", run_id, "--json").out)
    assert shown["status"] == "SUCCEEDED"


def test_yaml_spec_schedule_and_scheduler_once(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert run_falaj("init", str(home)).code == 0
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(
        f"name: from_yaml\n"
        f"steps:\n"
        f"  frame: {{uses: '{MOD}:make_frame', params: {{rows: 2}}}}\n"
        f"  total: {{uses: '{MOD}:summarize', inputs: {{df: frame}}}}\n"
    )
    ran = falaj(home, "pipeline", "run", str(spec), "--json")
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["pipeline"] == "from_yaml"
    made = falaj(home, "pipeline", "schedule", "nightly", str(spec), "--cron", "* * * * *")
    assert made.code == 0, made.err
    bad = falaj(home, "pipeline", "schedule", "bad", str(spec), "--cron", "nope")
    assert bad.code == 2 and "cron 'nope' is invalid" in bad.err
    listed = json.loads(falaj(home, "pipeline", "list-schedules", "--json").out)
    assert [s["name"] for s in listed] == ["nightly"]
    # Time is given, never assumed: at its creation time nothing is due, two minutes later the
    # two minute slots in between are (however long the lines above took).
    created = dt.datetime.fromisoformat(listed[0]["created_at"])
    once = falaj(home, "scheduler", "--once", "--now", created.isoformat())
    assert once.code == 0, once.err
    assert "0 slot(s) run, 0 due" in once.out
    later = created + dt.timedelta(minutes=2)
    caught_up = falaj(home, "scheduler", "--once", "--now", later.isoformat())
    assert caught_up.code == 0, caught_up.err
    assert "2 slot(s) run, 2 due" in caught_up.out
    assert caught_up.out.count("SUCCEEDED") == 2
    again = falaj(home, "scheduler", "--once", "--now", later.isoformat())
    assert "0 slot(s) run, 0 due" in again.out


def test_unknown_pipeline_source_is_one_clear_line(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert run_falaj("init", str(home)).code == 0
    r = falaj(home, "pipeline", "run", f"{MOD}:nope")
    assert r.code == 3
    assert "has no attribute 'nope'" in r.err and "Traceback" not in r.err


def test_malformed_yaml_spec_names_the_line(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert run_falaj("init", str(home)).code == 0
    spec = tmp_path / "broken.yaml"
    spec.write_text("name: x\nsteps:\n  a: [\n", encoding="utf-8")
    r = falaj(home, "pipeline", "run", str(spec))
    assert r.code == 2
    # one line, with no blank line from a progress display that never showed a step
    assert r.err.startswith(f"error: pipeline spec {spec}, line 4, column 1: not valid YAML")
    assert "Traceback" not in r.err and "<unicode string>" not in r.err


def test_runs_with_an_unknown_status_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert run_falaj("init", str(home)).code == 0
    r = falaj(home, "pipeline", "list-runs", "--status", "finished")
    assert r.code == 2
    assert "Invalid value for '--status'" in r.err
    assert "'finished' is not one of 'RUNNING', 'SUCCEEDED', 'FAILED'" in r.err


def test_export_to_a_folder_or_unwritable_path_is_one_clear_line(tmp_path: Path) -> None:
    folder = tmp_path / "a_folder"
    folder.mkdir()
    r = falaj(tmp_path, "pipeline", "export", f"{MOD}:linear", "--to", "airflow", "-o", str(folder))
    assert r.code == 2
    assert f"--output '{folder}' cannot be written: Is a directory" in r.err
    assert "Traceback" not in r.err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    target = blocker / "spec.yaml"  # a path below a regular file
    k = falaj(
        tmp_path, "pipeline", "export", f"{MOD}:linear", "--to", "kubeflow", "-o", str(target)
    )
    assert k.code == 2
    assert f"cannot write the Kubeflow spec to {target}" in k.err
    assert "Traceback" not in k.err


def test_export_refuses_a_bad_airflow_schedule_or_dag_id(tmp_path: Path) -> None:
    out = tmp_path / "dag.py"
    bad_cron = falaj(
        tmp_path, "pipeline", "export", f"{MOD}:linear", "--to", "airflow", "-o", str(out),
        "--schedule", "every night",
    )  # fmt: skip
    assert bad_cron.code == 2
    assert "schedule 'every night' is invalid; expected a cron expression" in bad_cron.err
    bad_id = falaj(
        tmp_path, "pipeline", "export", f"{MOD}:linear", "--to", "airflow", "-o", str(out),
        "--dag-id", "my dag!",
    )  # fmt: skip
    assert bad_id.code == 2
    assert "dag_id 'my dag!' is invalid" in bad_id.err
    assert not out.exists()  # nothing written on a refused export
