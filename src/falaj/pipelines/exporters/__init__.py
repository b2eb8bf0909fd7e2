"""Exporters: the same steps run by other orchestrators through ``falaj step run``."""

from falaj.pipelines.exporters.airflow import export_airflow
from falaj.pipelines.exporters.command import step_command
from falaj.pipelines.exporters.kubeflow import export_kubeflow

__all__ = ["export_airflow", "export_kubeflow", "step_command"]
