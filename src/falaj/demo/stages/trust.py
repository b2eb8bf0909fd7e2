"""Trust and compliance: the chained audit ledger, a signed model, encryption at rest, residency
and the compliance report.

Results: ``audit_chain`` (the verify report as a dict), ``compliance_report`` (the HTML path).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from rich.markup import escape

from falaj.governance.errors import ResidencyViolationError
from falaj.governance.ledger import chain_key, genesis_of, verify_chain
from falaj.store.metadata_store import MetadataStore

if TYPE_CHECKING:
    from falaj.demo.runner import DemoContext

MODEL = "credit-risk"
DATASET = "german_credit"
POLICY = '[regions]\nsensitive = ["ae-*"]\npii = ["ae-dubai-1"]\n'


def run(ctx: DemoContext) -> None:
    ws = ctx.ws
    report = ws.audit.verify()
    ctx.say(
        f"audit verify: chain intact={report.ok}, {report.checked} records, each an HMAC over "
        f"the one before it (head seq {report.head_seq})"
    )
    _tampered_copy(ctx)
    _signature(ctx)
    _encryption(ctx)
    _residency(ctx)
    from falaj.governance.compliance import render_html

    compliance = ws.compliance_report()
    out = ctx.workdir / "reports" / "compliance.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(compliance), encoding="utf-8")
    signed = sum(1 for m in compliance.models if m.signature == "valid")
    ctx.say(
        f"compliance report: {len(compliance.datasets)} dataset version(s), {signed}/"
        f"{len(compliance.models)} model version(s) signed, {len(compliance.violations)} "
        f"finding(s): {out}"
    )
    ctx.results["audit_chain"] = report.as_dict()
    ctx.results["compliance_report"] = str(out)


def _tampered_copy(ctx: DemoContext) -> None:
    """Copy the ledger to a scratch database, edit one event as an attacker with database
    access would (triggers dropped first), and verify the copy with the workspace's key."""
    source = ctx.ws.store.engine.url.database
    if ctx.ws.store.dialect != "sqlite" or not source:
        return
    copy = ctx.workdir / "trust" / "tampered.db"
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    scratch = MetadataStore.unchecked(f"sqlite:///{copy}")
    try:
        with scratch.engine.begin() as conn:
            conn.execute(sa.text("DROP TRIGGER audit_events_append_only_UPDATE"))
            target = (
                conn.execute(
                    sa.text("SELECT seq FROM audit_events WHERE action = 'model.approve' LIMIT 1")
                ).scalar()
                or 2
            )
            conn.execute(
                sa.text("UPDATE audit_events SET principal = 'mallory' WHERE seq = :s"),
                {"s": target},
            )
        with scratch.read() as conn:
            result = verify_chain(
                conn, chain_key(ctx.ws.store.engine), genesis=genesis_of(scratch, conn)
            )
    finally:
        scratch.close()
    first = result.first_bad
    shown = f"seq {first.seq}: {first.problem}" if first else "[red]nothing found[/]"
    ctx.say(
        f"a copy of the ledger with event #{target} rewritten to 'mallory': "
        f"`falaj audit verify` exits 8 naming {escape(shown)}"
    )


def _signature(ctx: DemoContext) -> None:
    ws = ctx.ws
    if not any(m.name == MODEL for m in ws.registry.list_models()):
        return
    mv = ws.registry.get_version(MODEL, "latest")
    check = ws.registry.verify_signature(MODEL, mv.version)
    ctx.say(
        f"models verify {MODEL} {mv.version}: {check.status} ({escape(check.detail)}); "
        f"signing_mode = {ws.settings.signing_mode}: an unsigned, untrusted or modified model "
        "is refused before it is deserialized"
    )


def _encryption(ctx: DemoContext) -> None:
    ws = ctx.ws
    if not ws.settings.encryption:
        return
    raw = ctx.results.get("raw_artifact")
    if raw:
        stored = Path(ws.artifacts.objects.path_of(raw)).read_bytes()
        ctx.say(
            f"the raw CSV at rest: {len(stored):,} bytes of AES-256-GCM ciphertext "
            f"(plaintext visible: {b'checking' in stored or b'duration' in stored})"
        )
    rotated = ws.keys.rotate()
    ctx.say(
        f"keys rotate: master key {rotated.previous_key_id} -> {rotated.key_id}, "
        f"{rotated.rewrapped} data keys re-wrapped, no data re-encrypted"
    )


def _residency(ctx: DemoContext) -> None:
    ws = ctx.ws
    (ws.home / "residency.toml").write_text(POLICY, encoding="utf-8")
    if not any(d.name == DATASET for d in ws.datasets.latest_versions()):
        return
    dest = ctx.workdir / "trust" / "export.parquet"
    try:
        ws.datasets.export(DATASET, dest, region="us-east-1", version=1)
        ctx.say("[red]sensitive data was exported outside the UAE[/]")
    except ResidencyViolationError as exc:
        ctx.say(f"export {DATASET}@1 to us-east-1: [yellow]refused[/] ({escape(str(exc))})")
    ws.datasets.export(DATASET, dest, region="ae-abudhabi-1", version=1)
    ctx.say(f"export to ae-abudhabi-1 (allowed by the policy): {dest.name} written")
