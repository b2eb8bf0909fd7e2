"""Importers from peer tools (MLflow) into a Falaj workspace."""

from falaj.interop.mlflow import MlflowImportReport, import_mlflow

__all__ = ["MlflowImportReport", "import_mlflow"]
