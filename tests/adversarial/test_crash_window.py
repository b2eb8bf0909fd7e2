"""The crash window docs/tracking.md states, measured: a process killed in a tight logging loop
loses at most max_pending + batch_size rows (2,000 with the defaults). Before the fix the queue
held up to 20,000 rows and about 20,000 were lost."""

from __future__ import annotations

from pathlib import Path

from falaj.workspace import Workspace
from tests.unit.foundation.test_batch_writer import _metric_count, _run_script


def test_killed_in_a_tight_logging_loop_loses_at_most_the_documented_window(
    tmp_path: Path,
) -> None:
    """docs/tracking.md: a killed process loses at most max_pending + batch_size rows (2,000
    with the defaults: the queue and the batch being written)."""
    Workspace.init(tmp_path / "ws").close()
    marker = tmp_path / "logged"
    _run_script(
        tmp_path,
        f"""
        for i in range(30_000):
            run.log_metric("loss", 0.5, step=i)
        open({str(marker)!r}, "w").write(str(i + 1))
        os._exit(0)  # like SIGKILL, in the middle of the stream
        """,
    )
    logged = int(marker.read_text())
    count = _metric_count(tmp_path / "ws" / "falaj.db")
    assert logged == 30_000
    assert logged - count <= 2000, f"lost {logged - count} rows"
