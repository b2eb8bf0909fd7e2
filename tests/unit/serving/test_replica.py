"""A replica's hot swap: new revisions load before they take traffic; one that fails to load
never receives any, and the previous snapshot keeps serving."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from falaj.serving.replica import Replica
from falaj.serving.sources import DeploymentSource
from falaj.workspace import Workspace
from tests.serving_support import MODEL, frame, register

pytestmark = pytest.mark.slow


class Constant:
    """A plain Python model: logged as pyfunc (pickle), so loading it needs trust."""

    def predict(self, df: pd.DataFrame) -> Any:
        return [1] * len(df)


def _untrusted_version(ws: Workspace) -> int:
    x, _ = frame(5)
    with ws.start_run("pyfunc") as run:
        logged = run.log_model(Constant(), "model", input_example=x, trusted=True)
    return ws.registry.create_version(MODEL, logged).version


def test_a_revision_that_fails_to_load_never_takes_traffic(ws: Workspace) -> None:
    good = register(ws)
    ws.serving.create_deployment("credit", f"{MODEL}/{good}")
    replica = Replica(DeploymentSource(ws.serving, "credit"))
    assert replica.refresh() and replica.ready
    before = replica.snapshot
    assert before is not None
    broken = _untrusted_version(ws)
    ws.serving.add_revision("credit", f"{MODEL}/{broken}", weight=100)
    assert replica.refresh() is False
    assert replica.snapshot is before and "trusted" in (replica.last_error or "")
    assert [t.id for t in before.targets] == [ws.serving.get_deployment("credit").revisions[0].id]


def test_unchanged_revisions_are_reused_and_new_ones_loaded_before_the_swap(ws: Workspace) -> None:
    one, two = register(ws), register(ws)
    dep = ws.serving.create_deployment("credit", f"{MODEL}/{one}")
    replica = Replica(DeploymentSource(ws.serving, "credit"))
    replica.refresh()
    first = replica.snapshot
    assert first is not None and replica.refresh() is False  # same generation: nothing to do
    new = ws.serving.add_revision("credit", f"{MODEL}/{two}", weight=50)
    assert replica.refresh()
    second = replica.snapshot
    assert second is not None
    old_id = dep.revisions[0].id
    assert second.runtimes[old_id] is first.runtimes[old_id]
    assert second.runtimes[new.id].model_version == two
    runtime, shadows = replica.route(second, "req", "user-7")
    assert runtime.revision_id in {old_id, new.id} and shadows == []


def test_a_replica_with_nothing_loadable_is_not_ready(ws: Workspace) -> None:
    register(ws)
    broken = _untrusted_version(ws)
    ws.serving.create_deployment("credit", f"{MODEL}/{broken}")
    replica = Replica(DeploymentSource(ws.serving, "credit"))
    with pytest.raises(Exception, match="trusted"):
        replica.refresh()
    assert not replica.ready
