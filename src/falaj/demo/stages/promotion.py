"""Stage: promotion gates. A policy with justified thresholds and a required validation suite,
gates failing for lack of approval, an in-sample evaluation refused by the metric gate,
self-approval refused, a second principal approves, a new policy revision makes that approval
stale until given again, the model card refreshed, gates pass, promotion to ``champion`` with
its change record, and "which version was champion at time T?".

Reads ``ctx.results["candidate_version"]`` (the training stage's version, with its evaluation,
fairness and model card evidence) or falls back to ``ctx.results["registered_version"]``.
Puts ``ctx.results["champion_version"]`` (int) and ``ctx.results["promotion_id"]`` (str).
When ``ctx.results["training_reports"]`` holds a model card path, the card is written again
there after the approval (as new ``model_card`` evidence), so its approvals section is filled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from falaj.governance.principal import Principal
from falaj.lineage import Node
from falaj.registry.errors import SelfApprovalError
from falaj.store.schema import utcnow

if TYPE_CHECKING:
    from falaj.demo.runner import DemoContext
    from falaj.registry.gates import GateReport

MODEL = "credit-risk"
FAIRNESS = """\
fairness:                  # the same limits as the training stage's fairness audit
  demographic_parity_difference:
    max: 0.25
    justification: >-
      Interim limit of the credit risk committee for the 1,000-applicant German sample;
      tighter limits are not statistically reliable at this size.
  equalized_odds_difference:
    max: 0.35
    justification: >-
      Error-rate gaps above 0.35 between groups were judged material in the 2026 model risk
      review.
"""


def _policy(region: str, kinds: set[str], *, suite: str | None, min_auc: float = 0.60) -> str:
    text = (
        "# credit-risk promotion policy, owned by the credit risk committee\n"
        "risk: high\n"
        "metrics:                 # from a held-out evaluation (an in-sample one never counts)\n"
        f"  roc_auc: {{min: {min_auc:.2f}}}   # the committee's minimum for an automated score\n"
    )
    if "fairness" in kinds:
        text += FAIRNESS
    if suite is not None:
        text += (
            "validation:              # every input dataset passed this suite\n"
            "  require: passed\n"
            f"  suites: [{suite}]\n"
            "  min_checks: 5          # an empty or token suite cannot satisfy it\n"
        )
    reports = [k for k in ("evaluation", "fairness", "model_card") if k in kinds]
    if reports:
        text += f"reports: [{', '.join(reports)}]\n"
    return text + (
        "champion:\n"
        "  metrics:\n"
        "    roc_auc: {max_drop: 0.005}\n"
        f"residency: {{allowed_regions: [{region}]}}\n"
        "approvals: {count: 1, role: risk-approver}\n"
    )


def _bootstrap_champion(ctx: DemoContext, candidate: int) -> None:
    """Make the registry stage's baseline the champion the candidate must beat (the state of a
    team that adopts gates with a model already in production)."""
    baseline = ctx.results.get("registered_version")
    if not baseline or int(baseline) == candidate:
        return
    ws = ctx.ws
    run = ws.tracking.get_run(ws.registry.get_version(MODEL, int(baseline)).run_id)
    if "roc_auc" not in run.metrics:
        return  # nothing to compare the candidate with
    ws.registry.set_alias(
        MODEL, "champion", int(baseline), reason="baseline in production before gates existed"
    )
    ctx.say(
        f"champion today: v{baseline} (run ROC AUC {run.metrics['roc_auc']:.3f}), set before the "
        "gates were adopted; the move is in its alias history"
    )


def _show(ctx: DemoContext, report: GateReport) -> None:
    verdict = "[green]PASSED[/]" if report.passed else "[red]FAILED[/]"
    table = Table(
        "kind", "condition", "expected", "actual", "result",
        title=f"gates of {report.name} v{report.version}: {verdict}",
    )  # fmt: skip
    for c in report.conditions:
        result = "[green]PASS[/]" if c.passed else "[red]FAIL[/]"
        table.add_row(c.kind, c.name, c.expected, c.actual_text(), result)
    ctx.console.print(table)
    for c in report.conditions:
        if c.justification:
            ctx.say(f"justification for {c.name}: {c.justification}")


def _input_suite(ctx: DemoContext, run_id: str) -> str | None:
    """The suite the run's input datasets were validated with (None: no recorded input)."""
    inputs = ctx.ws.lineage.upstream(Node("run", run_id), max_depth=1)
    ids = sorted({e.source.id for e in inputs if e.source.kind == "dataset_version"})
    runs = [r for i in ids for r in ctx.ws.datasets.validations(i)]
    return runs[0].suite_name if runs else None


def _set_policy(ctx: DemoContext, version: int, min_auc: float) -> None:
    ws = ctx.ws
    kinds = {e.kind for e in ws.registry.evidence(MODEL, version)}
    suite = _input_suite(ctx, ws.registry.get_version(MODEL, version).run_id)
    policy = ws.registry.set_policy(
        MODEL, _policy(ws.settings.region, kinds, suite=suite, min_auc=min_auc)
    )
    ctx.say(f"policy revision {policy.revision} for {MODEL} (risk {policy.risk}):")
    for line in policy.text.splitlines():
        ctx.console.print(f"    [dim]{escape(line)}[/]", highlight=False)


def _refuse_in_sample(ctx: DemoContext) -> None:
    """The training stage's shortcut version: evaluated only on its training rows."""
    shortcut = ctx.results.get("in_sample_version")
    if not shortcut:
        return
    ws = ctx.ws
    report = ws.registry.check_gates(MODEL, int(shortcut))
    metric = next(c for c in report.conditions if c.kind == "metric")
    ctx.say(
        f"gate of the shortcut v{shortcut}: {metric.name} "
        + ("[green]PASS[/]" if metric.passed else "[red]FAIL[/]")
        + f": {escape(metric.evidence)}"
    )
    ws.registry.archive(MODEL, int(shortcut), reason="in-sample evidence only; not a candidate")


def run(ctx: DemoContext) -> None:
    ws = ctx.ws
    version = int(ctx.results.get("candidate_version") or ctx.results["registered_version"])
    _bootstrap_champion(ctx, version)
    _set_policy(ctx, version, 0.60)
    _show(ctx, ws.registry.check_gates(MODEL, version))
    _refuse_in_sample(ctx)

    creator = ws.registry.get_version(MODEL, version).created_by
    me = ws.as_principal(Principal(creator, roles=frozenset({"risk-approver"})))
    try:
        me.registry.approve(MODEL, version, comment="I built it and it looks fine")
    except SelfApprovalError as exc:
        ctx.say(f"[yellow]refused[/]: {escape(str(exc))}")

    bob = ws.as_principal(Principal("bob", roles=frozenset({"risk-approver"})))
    kinds = {e.kind for e in ws.registry.evidence(MODEL, version)}
    reviewed = ", ".join(sorted(kinds)) or "run metrics"
    approval = bob.registry.approve(MODEL, version, comment=f"Reviewed the evidence: {reviewed}")
    ctx.say(
        f"approved by {approval.approver} ({', '.join(approval.roles)}) under policy revision "
        f"{approval.policy_revision}: {approval.comment}"
    )

    ctx.say("the committee raises the ROC AUC minimum: a new policy revision")
    _set_policy(ctx, version, 0.65)
    stale = next(
        c for c in ws.registry.check_gates(MODEL, version).conditions if c.kind == "approvals"
    )
    ctx.say(
        "approvals "
        + ("[green]PASS[/]" if stale.passed else "[red]FAIL[/]")
        + f": {escape(stale.evidence)}"
    )
    again = bob.registry.approve(
        MODEL, version, comment=f"Re-reviewed under the revised policy: {reviewed}"
    )
    ctx.say(f"approved again by {again.approver} under policy revision {again.policy_revision}")
    _refresh_card(ctx, version)

    report = ws.registry.check_gates(MODEL, version)
    _show(ctx, report)

    before = utcnow()
    record = ws.registry.promote(
        MODEL, version, reason="passes every gate; approved by the risk committee"
    )
    ctx.say(
        f"[green]promoted[/] v{record.version} to champion: change record {record.id[:8]} "
        f"requested by {record.requester}, approved by "
        f"{', '.join(a['approver'] for a in record.approvers)}, risk {record.risk}, "
        f"evidence {', '.join(e['kind'] for e in record.evidence) or 'none'}, "
        f"at {record.created_at.strftime('%H:%M:%S')} UTC"
    )
    event = ws.audit.list(action="model.promote", limit=1)[0]
    ctx.say(f"audit event #{event.seq} ({event.outcome}) carries the change record")
    earlier = ws.registry.alias_at(MODEL, "champion", before)
    ctx.say(
        f"which version was champion at {before.strftime('%H:%M:%S.%f')[:-3]}? "
        f"{f'v{earlier}' if earlier else 'none'}; and now? "
        f"v{ws.registry.alias_at(MODEL, 'champion', utcnow())}"
    )
    ctx.results["champion_version"] = record.version
    ctx.results["promotion_id"] = record.id


def _refresh_card(ctx: DemoContext, version: int) -> None:
    """The card written before the approval said "none yet": write it again with it (the
    gates refuse a card older than the latest approval)."""
    from pathlib import Path

    from falaj.demo.stages.training import CARD

    card = ctx.ws.training.model_card(MODEL, version, **CARD)
    approvals = next(s for s in card.result.sections if s.key == "approvals")
    where = ""
    reports = ctx.results.get("training_reports") or {}
    if "model_card" in reports:
        path = card.write(Path(reports["model_card"]).parent, f"{MODEL}-v{version}-model_card")
        where = f", rewritten at {path}"
    ctx.say(
        escape(f"model card refreshed after the approval{where}: ")
        + escape("; ".join(approvals.items) or "no approvals")
    )
