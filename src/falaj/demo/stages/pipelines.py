"""Stage: the lifecycle as a pipeline (ingest → validate → train → evaluate → register), run
twice: the second run is served from the cache; a third with another seed re-runs only the
steps the seed reaches. Then the lineage of the version the cached run registered.

Reads ``ctx.results["dataset_version"]`` / ``ctx.results["dataset_name"]`` (the data stage's
dataset, when it ran) and
``ctx.results["raw_artifact"]`` (the foundation stage's raw file digest). Puts
``ctx.results["pipeline_run_id"]`` (the first run), ``ctx.results["pipeline_cached_run_id"]``
and ``ctx.results["pipeline_model_version"]`` ("credit-risk-pipeline/<n>").
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from falaj.lineage import Node

if TYPE_CHECKING:
    from falaj.demo.runner import DemoContext
    from falaj.lineage import Edge
    from falaj.pipelines.records import PipelineRun


def _table(run: PipelineRun, seconds: float, title: str) -> Table:
    table = Table("step", "status", "seconds", "cache key", title=f"{title}: {seconds:.2f} s")
    for st in run.steps:
        table.add_row(st.step, st.status, f"{st.duration_s:.3f}", st.cache_key[:16])
    return table


def _lineage_tree(root: Node, edges: list[Edge]) -> Tree:
    """What made ``root``: each node is expanded once (later mentions say "see above")."""
    into: dict[Node, list[tuple[str, Node]]] = {}
    for e in edges:
        into.setdefault(e.target, []).append((e.relation, e.source))
    tree = Tree(f"[bold]{escape(str(root))}[/]")
    expanded = {root}

    def grow(branch: Tree, node: Node) -> None:
        for relation, src in sorted(into.get(node, []), key=lambda x: (x[1].kind, x[1].id)):
            label = escape(f"{src.kind}:{src.id[:16] if src.kind == 'artifact' else src.id}")
            if src in expanded:
                more = " [dim](see above)[/]" if into.get(src) else ""
                branch.add(f"[dim]{relation}[/] {label}{more}")
                continue
            expanded.add(src)
            grow(branch.add(f"[dim]{relation}[/] {label}"), src)

    grow(tree, root)
    return tree


def run(ctx: DemoContext) -> None:
    from falaj.demo.sample_data import german_credit_path
    from falaj.pipelines.lifecycle import credit_lifecycle

    params = {
        "dataset": ctx.results.get("dataset_version")
        or ctx.results.get("dataset_name", "german-credit"),
        "csv_path": str(german_credit_path()),
        "source_digest": ctx.results.get("raw_artifact", ""),
    }
    ws = ctx.ws
    t0 = time.perf_counter()
    first = ws.pipelines.run(credit_lifecycle, params=params)
    first_s = time.perf_counter() - t0
    ctx.console.print(_table(first, first_s, f"pipeline run {first.id[:12]} (first)"))
    t0 = time.perf_counter()
    second = ws.pipelines.run(credit_lifecycle, params=params)
    second_s = time.perf_counter() - t0
    ctx.console.print(_table(second, second_s, f"pipeline run {second.id[:12]} (again)"))
    cached = sum(st.status == "CACHED" for st in second.steps)
    ctx.say(
        f"second run: {cached}/{len(second.steps)} steps served from cache, same keys, "
        f"{first_s / max(second_s, 1e-9):.0f}x faster"
    )
    ingest = second.latest("ingest")
    if ingest is not None and "@" not in params["dataset"]:
        read = ws.pipelines.load_output(ingest.id, "dataset_version")
        ctx.say(
            f"ingest reads dataset {params['dataset']!r} by name: the version it resolved to "
            f"({read}) is part of its cache key, so registering new data re-runs it"
        )
    third = ws.pipelines.run(credit_lifecycle, params={**params, "seed": 8})
    ctx.say(
        "third run with seed=8: "
        + ", ".join(f"{st.step} {st.status.lower()}" for st in third.steps)
        + " (a changed parameter re-runs only the steps it reaches)"
    )
    registered = second.latest("register")
    assert registered is not None
    version = ws.pipelines.load_output(registered.id)
    ref = f"{version['name']}/{version['version']}"
    evaluation = second.latest("evaluate")
    assert evaluation is not None
    metrics = ws.pipelines.load_output(evaluation.id)["metrics"]
    ctx.say(f"registered model version {ref}: held-out ROC AUC {metrics['roc_auc']:.3f}")
    node = Node("model_version", ref)
    ctx.say(escape(f"lineage of {node} (what made it):"))
    ctx.console.print(_lineage_tree(node, ws.lineage.upstream(node)))
    ctx.results["pipeline_run_id"] = first.id
    ctx.results["pipeline_cached_run_id"] = second.id
    ctx.results["pipeline_model_version"] = ref
