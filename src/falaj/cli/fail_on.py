"""``--fail-on alert|warning|never``: how a finding turns into the exit code, for CI jobs.

Commands that judge data or a model (``falaj data anomalies``, ``falaj train fairness``) print
their report and then exit 8 (as ``falaj gate check`` does when a condition fails) when they
found something at or above the ``--fail-on`` level: ``alert`` (the default) fails on alerts
only, ``warning`` on warnings too, ``never`` always exits 0.
"""

from __future__ import annotations

import typer

__all__ = ["FAIL_ON", "FINDINGS_EXIT_CODE", "check_fail_on", "exit_for"]

#: the exit code of a command whose findings reach its --fail-on level (as ``gate check``)
FINDINGS_EXIT_CODE = 8
LEVELS = ("alert", "warning", "never")

FAIL_ON = typer.Option(
    "alert",
    "--fail-on",
    help="Exit 8 when a finding reaches this level: alert (default) | warning | never.",
)


def check_fail_on(value: str) -> str:
    from falaj.errors import InvalidInputError

    if value not in LEVELS:
        raise InvalidInputError(f"--fail-on {value!r} is invalid: expected one of {LEVELS}")
    return value


def exit_for(fail_on: str, *, alerts: int, warnings: int) -> None:
    """Exit 8 when the findings reach ``fail_on``; return otherwise."""
    if fail_on == "never":
        return
    if alerts or (fail_on == "warning" and warnings):
        raise typer.Exit(FINDINGS_EXIT_CODE)
