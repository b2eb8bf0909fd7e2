"""Issue 10 item 3: a suite with no checks must not "pass" a dataset (and flip a gate)."""

from __future__ import annotations

import pandas as pd
import pytest

from falaj.data.errors import ExpectationFileError
from falaj.workspace import Workspace


@pytest.mark.parametrize("suite", [{"suite": "empty"}, {"suite": "hollow", "checks": []}])
def test_a_suite_without_checks_is_refused_and_nothing_is_stored(
    ws: Workspace, suite: dict[str, object]
) -> None:
    data = ws.datasets.register("applicants", pd.DataFrame({"income": [1.0, 2.0, 3.0]}))
    with pytest.raises(ExpectationFileError, match="has no checks"):
        ws.datasets.validate(data.id, suite)
    assert ws.datasets.validations(data.id) == []
    assert ws.datasets.validation_status(data.id) is None
    assert ws.audit.list(action="dataset.validate") == []


def test_an_empty_suite_cannot_flip_the_validation_gate(ws: Workspace) -> None:
    from tests.registry_support import log_model

    data = ws.datasets.register("applicants", pd.DataFrame({"income": [1.0, 2.0, 3.0]}))
    with pytest.raises(ExpectationFileError):
        ws.datasets.validate(data.id, {"suite": "empty"})
    version = ws.registry.create_version("m", log_model(ws, dataset_ids=[data.id])).version
    ws.registry.set_policy("m", "risk: high\nvalidation: {require: passed}\n")
    (cond,) = ws.registry.check_gates("m", version).conditions
    assert not cond.passed and cond.actual == "never validated"
