"""Training: hyperparameter search, evaluation, fairness audit, explainability, model cards.

Reached as ``ws.training`` (:class:`falaj.training.service.TrainingService`). The building blocks
are plain functions over arrays and data frames, usable without a workspace:

- :mod:`falaj.training.hpo`: Optuna searches with budgets, each trial a child run;
- :mod:`falaj.training.evaluation`: held-out metrics with bootstrap intervals and slices;
- :mod:`falaj.training.fairness`: group metrics and disparities under a stated policy;
- :mod:`falaj.training.explain`: SHAP explanations for pipelines and estimators;
- :mod:`falaj.training.reports`: self-contained HTML and JSON reports;
- :mod:`falaj.training.model_card`: model cards per model version.

Importing this package imports no heavy library (sklearn, optuna, shap are imported where used).
"""

from __future__ import annotations

__all__: list[str] = []
