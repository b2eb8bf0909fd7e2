#!/usr/bin/env bash
# Create .venv-airflow: a separate virtual environment with Apache Airflow, used only by the
# pipeline exporter tests to load exported DAG files with Airflow's own DagBag. Airflow pins many
# packages, so it never goes into the project's .venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${FALAJ_AIRFLOW_VENV:-$ROOT/.venv-airflow}"
PYTHON="${PYTHON:-python3}"
if [[ -x "$VENV/bin/airflow" ]]; then
  echo "Airflow venv already present: $VENV"
  exit 0
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "apache-airflow>=2.9"
"$VENV/bin/airflow" version
echo "Airflow venv ready: $VENV"
