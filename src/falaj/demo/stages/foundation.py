"""Stage 1: the raw German credit file becomes a content-addressed, verified artifact."""

from __future__ import annotations

from typing import TYPE_CHECKING

from falaj.demo.sample_data import german_credit_path

if TYPE_CHECKING:
    from falaj.demo.runner import DemoContext


def run(ctx: DemoContext) -> None:
    source = german_credit_path()
    meta = ctx.ws.artifacts.put_file(source, media_type="text/csv")
    ctx.say(f"stored {source.name} ({meta.size:,} bytes) as sha256:{meta.digest[:16]}...")
    again = ctx.ws.artifacts.put_file(source, media_type="text/csv")
    ctx.say(f"stored it again: same digest, kept once ({again.digest == meta.digest})")
    data = ctx.ws.artifacts.get_bytes(meta.digest)
    rows = data.decode("utf-8").count("\n") - 1
    ctx.say(f"read back {len(data):,} bytes, digest verified: {rows} applicants")
    report = ctx.ws.artifacts.verify()
    ctx.say(f"integrity check of the whole store: {report.checked} objects, ok={report.ok}")
    ctx.results["raw_artifact"] = meta.digest
    ctx.results["raw_path"] = str(source)
