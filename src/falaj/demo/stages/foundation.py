"""Stage 1: the raw German credit file becomes a content-addressed, verified artifact."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from falaj.demo import defences
from falaj.demo.sample_data import german_credit_path
from falaj.errors import IntegrityError

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
    _tamper_check(ctx)
    defences.show(ctx)
    _orphan_check(ctx)
    ctx.results["raw_artifact"] = meta.digest
    ctx.results["raw_path"] = str(source)


def _tamper_check(ctx: DemoContext) -> None:
    """Flip one bit of a scratch object on disk: the read refuses it, verify names it."""
    store = ctx.ws.artifacts
    scratch = store.put_bytes(b"scratch object for the tamper check\n")
    path = Path(store.objects.path_of(scratch.digest))
    if not path.is_file():  # a remote object store: nothing to flip here
        return
    original = path.read_bytes()
    mode = path.stat().st_mode
    path.chmod(mode | 0o200)
    try:
        path.write_bytes(bytes([original[0] ^ 0x01]) + original[1:])
        try:
            store.get_bytes(scratch.digest)
            ctx.say("[red]a bit-flipped object was read back without complaint[/]")
        except IntegrityError as exc:
            ctx.say(f"flipped one bit of a stored object: the read is refused ({escape(str(exc))})")
        damaged = store.verify()
        ctx.say(f"store check now: ok={damaged.ok}, damaged {len(damaged.damaged)} object(s)")
    finally:
        path.write_bytes(original)
        path.chmod(mode)
    ctx.say(f"restored the byte: store check ok={store.verify().ok}")


def _orphan_check(ctx: DemoContext) -> None:
    """Bytes stored but never indexed (a writer killed in between): reported, then collected."""
    store = ctx.ws.artifacts
    orphan = store.objects.write_bytes(b"stored by a writer killed before indexing it\n")
    report = store.verify(orphans=True)
    ctx.say(
        f"an object stored but never indexed (its writer was killed): verify --orphans lists "
        f"{len(report.orphans)} ({orphan.digest[:12]}... listed: {orphan.digest in report.orphans})"
    )
    collected = store.gc(min_age_s=0)
    ctx.say(
        f"artifacts gc removed {len(collected.orphans)} orphan(s); indexed objects untouched: "
        f"ok={store.verify().ok}"
    )
