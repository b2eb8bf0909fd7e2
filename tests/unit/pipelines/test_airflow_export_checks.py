"""The Airflow exporter checks the DAG id and schedule before writing anything."""

from __future__ import annotations

import pytest

from falaj.errors import InvalidInputError
from falaj.pipelines.exporters.airflow import export_airflow
from falaj.pipelines.spec import parse_spec

MOD = "tests.unit.pipelines.sample_steps"


def _pipe(name: str):  # type: ignore[no-untyped-def]
    pipe = parse_spec({"name": name, "steps": {"a": {"uses": f"{MOD}:make_frame"}}})
    pipe.source = "pipeline.yaml"
    return pipe


def test_default_dag_id_replaces_characters_airflow_refuses() -> None:
    text = export_airflow(_pipe("credit risk/v2"))
    assert "dag_id='falaj_credit_risk_v2'," in text


@pytest.mark.parametrize("schedule", ["@daily", "0 3 * * *", None])
def test_cron_and_presets_are_accepted(schedule: str | None) -> None:
    assert f"schedule={schedule!r}," in export_airflow(_pipe("p"), schedule=schedule)


def test_an_invalid_schedule_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="schedule '61 \\* \\* \\* \\*' is invalid"):
        export_airflow(_pipe("p"), schedule="61 * * * *")


def test_an_invalid_dag_id_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="dag_id 'a b' is invalid"):
        export_airflow(_pipe("p"), dag_id="a b")
