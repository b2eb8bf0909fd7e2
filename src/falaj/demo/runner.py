"""Runs the demo stages in order against a throw-away embedded workspace."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule

from falaj.governance.principal import Principal
from falaj.workspace import Workspace

__all__ = ["DemoContext", "run_demo"]


@dataclass
class DemoContext:
    """What the stages share: the workspace, the console, a scratch folder, and their results."""

    ws: Workspace
    console: Console
    workdir: Path
    results: dict[str, Any] = field(default_factory=dict)

    def say(self, message: str) -> None:
        self.console.print(f"  {message}", highlight=False)


CI_PRINCIPAL = Principal("ci-pipeline", kind="service")


def run_demo(
    workdir: Path | None = None,
    *,
    keep: bool = False,
    console: Console | None = None,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Run every stage (or those named in ``only``); returns what the stages recorded."""
    from falaj.demo.stages import STAGES

    out = console or Console()
    selected = _with_needs(only, STAGES) if only else None
    temporary = workdir is None
    root = Path(tempfile.mkdtemp(prefix="falaj-demo-")) if workdir is None else Path(workdir)
    if root.exists() and any(root.iterdir()) and not temporary:
        raise_if_not_demo(root)
    root.mkdir(parents=True, exist_ok=True)
    out.print(Rule("[bold]Falaj demo: raw data to a governed model[/]"))
    out.print(
        f"workspace: {root / 'workspace'}  (embedded: SQLite + local folder; artifacts "
        "encrypted, models signed)"
    )
    started = time.perf_counter()
    try:
        # The lifecycle runs as the team's CI service account (you, the OS user, stay the
        # authenticated identity recorded beside it), so a human can approve its model later.
        # Trust features on: artifacts encrypted at rest, models refused unless signed.
        with Workspace.init(
            root / "workspace",
            region="ae-dubai-1",
            exist_ok=True,
            principal=CI_PRINCIPAL,
            encryption=True,
            signing_mode="enforce",
        ) as ws:
            ctx = DemoContext(ws=ws, console=out, workdir=root)
            for number, stage in enumerate(STAGES, start=1):
                if selected is not None and stage.key not in selected:
                    continue
                out.print(Rule(f"{number}. {stage.title}", align="left"))
                t0 = time.perf_counter()
                stage.run(ctx)
                out.print(f"  [dim]({time.perf_counter() - t0:.2f} s)[/]")
            results = dict(ctx.results)
    finally:
        if temporary and not keep:
            shutil.rmtree(root, ignore_errors=True)
    out.print(Rule(f"[bold green]demo finished in {time.perf_counter() - started:.1f} s[/]"))
    if temporary and not keep:
        removed = (
            "workspace and its reports were" if "training_reports" in results else "workspace was"
        )
        out.print(
            f"[dim]the throw-away {removed} removed (use --keep or --workdir DIR to keep them)[/]"
        )
    else:
        out.print(f"inspect it: falaj --home {root / 'workspace'} audit list")
        if "training_reports" in results:
            out.print(f"open the reports: {root / 'reports'}")
    return results


def _with_needs(only: list[str], stages: list[Any]) -> set[str]:
    """The stages named by ``--only`` plus those they need; unknown names are refused."""
    from falaj.errors import InvalidInputError

    by_key = {stage.key: stage for stage in stages}
    unknown = [key for key in only if key not in by_key]
    if unknown:
        raise InvalidInputError(
            f"--only {', '.join(unknown)}: no such demo stage; expected some of {', '.join(by_key)}"
        )
    selected: set[str] = set()
    todo = list(only)
    while todo:
        key = todo.pop()
        if key not in selected:
            selected.add(key)
            todo.extend(by_key[key].needs)
    return selected


def raise_if_not_demo(root: Path) -> None:
    """Refuse to reuse a non-empty folder that is not a previous demo's."""
    from falaj.errors import AlreadyExistsError

    if not (root / "workspace" / "falaj.toml").exists():
        raise AlreadyExistsError(
            f"{root} is not empty and holds no demo workspace; choose an empty or new folder"
        )
