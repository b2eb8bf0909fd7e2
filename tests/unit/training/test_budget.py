"""Budget accounting over a study's trials."""

from __future__ import annotations

import optuna

from falaj.training.budget import SKIPPED_ATTR, Budget, BudgetCallback, study_counts


def _study_with(complete: int, running: int, skipped_running: int = 0) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    for i in range(complete):
        trial = study.ask()
        study.tell(trial, float(i))
    for _ in range(running):
        study.ask()
    for _ in range(skipped_running):
        study.ask().set_user_attr(SKIPPED_ATTR, "max_trials")
    return study


def test_progress_counts_only_trials_that_ended() -> None:
    # Two workers share a 12-trial study: 11 ended, one worker is running the 12th and the other
    # has just asked for a 13th it has not yet marked as skipped. Progress must say 11, not 13.
    counts = study_counts(_study_with(complete=11, running=2))
    assert counts.finished == 11
    assert counts.ran == 13  # started trials, RUNNING included


def test_skipped_trials_count_nowhere() -> None:
    counts = study_counts(_study_with(complete=3, running=0, skipped_running=2))
    assert counts.finished == 3
    assert counts.ran == 3


def test_max_trials_budget_is_spent_by_ended_trials_only() -> None:
    callback = BudgetCallback(Budget(max_trials=4))
    assert callback.exhausted(_study_with(complete=3, running=1)) is None
    assert callback.exhausted(_study_with(complete=4, running=0)) == "max_trials"
