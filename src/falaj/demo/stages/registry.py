"""Stage: register the tracked model as ``credit-risk``, point ``challenger`` at it, and show the
alias history.

Reads ``ctx.results["logged_model"]`` (the tracking stage's LoggedModel); when the demo runs
without that stage it trains and logs a small logistic regression on the German credit data
itself. Puts ``ctx.results["registered_version"]`` (int) and ``ctx.results["registered_model"]``
("credit-risk").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from falaj.lineage import Node

if TYPE_CHECKING:
    from falaj.demo.runner import DemoContext

MODEL = "credit-risk"


def _log_fallback_model(ctx: DemoContext) -> Any:
    """Train and log a model on the German credit data when no tracking stage ran before."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from falaj.demo.sample_data import german_credit_path

    frame = pd.read_csv(german_credit_path())
    features = frame[["job", "credit_amount", "duration", "age"]].astype("float64")
    x_train, x_test, y_train, y_test = train_test_split(
        features, frame["risk"], test_size=0.25, random_state=7, stratify=frame["risk"]
    )
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x_train, y_train)
    auc = float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]))
    with ctx.ws.start_run("credit-risk", run_name="registry-demo-baseline") as run:
        run.log_params({"model": "logistic_regression", "features": "numeric"})
        run.log_metric("roc_auc", auc)
        logged = run.log_model(model, "model", input_example=x_train.head(5))
    ctx.say(f"(no tracking stage ran: trained a baseline here, held-out ROC AUC {auc:.3f})")
    return logged


def run(ctx: DemoContext) -> None:
    ws = ctx.ws
    logged = ctx.results.get("logged_model") or _log_fallback_model(ctx)
    mv = ws.registry.create_version(
        MODEL,
        logged,
        description="Credit default risk on the German credit data",
        tags={"team": "retail-risk"},
    )
    ctx.say(
        f"registered {MODEL} v{mv.version} from {mv.source_uri} "
        f"(flavor {mv.flavor}, artifact sha256:{mv.artifact_digest[:16]}...)"
    )
    edges = ws.lineage.upstream(Node("model_version", mv.ref), max_depth=1)
    chain = ", ".join(f"{e.source} -({e.relation})->" for e in edges)
    ctx.say(escape(f"lineage: {chain} model_version:{mv.ref}"))
    ws.registry.set_alias(
        MODEL, "challenger", mv.version, reason="first candidate from the tracked run"
    )
    again = ws.registry.get_version(MODEL, "challenger")
    ctx.say(f"alias challenger -> v{again.version}; loading it through the registry...")
    loaded = ws.registry.load_model(MODEL, "challenger")
    ctx.say(f"loaded a {loaded.flavor} model with its signature enforced")
    table = Table("when (UTC)", "alias", "from", "to", "who", "why", title="alias history")
    for move in ws.registry.alias_history(MODEL):
        table.add_row(
            move.moved_at.strftime("%H:%M:%S.%f")[:-3],
            move.alias,
            f"v{move.from_version}" if move.from_version else "-",
            f"v{move.to_version}" if move.to_version else "(deleted)",
            move.moved_by,
            move.reason,
        )
    ctx.console.print(table)
    ctx.results["registered_model"] = MODEL
    ctx.results["registered_version"] = mv.version
