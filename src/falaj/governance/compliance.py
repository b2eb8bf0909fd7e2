"""The compliance report: where every dataset and model lives, whether it is encrypted and
signed, whether the audit chain is intact, which connections are encrypted in transit, and every
residency violation.

The workspace gathers the facts through the services (each read authorized and audited) and
hands them to :class:`ComplianceService.report`, which authorizes ``compliance.report``, judges
them and records the report's verdict in the ledger. :func:`render_html` writes one
self-contained page (inline CSS and SVG, no CDN); :meth:`ComplianceReport.as_dict` is the JSON.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from falaj.config import Settings
from falaj.governance.authorization import Action
from falaj.governance.context import machinery
from falaj.governance.service import Service
from falaj.redact import redact
from falaj.store.schema import utcnow

__all__ = [
    "ComplianceReport",
    "ComplianceService",
    "Connection",
    "DataFact",
    "ModelFact",
    "render_html",
    "transport_facts",
]


@dataclass(frozen=True)
class DataFact:
    """One dataset version: where it lives, what it carries, whether it is encrypted."""

    id: str
    region: str
    classifications: list[str]
    encrypted: bool | None  # None: the object is missing or its key was shredded
    key_id: str | None
    violations: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModelFact:
    """One model version: where it lives, its signature verdict, the data it carries."""

    id: str
    status: str
    region: str
    signature: str
    signature_detail: str
    key_id: str | None
    encrypted: bool | None
    classifications: list[str]
    violations: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Connection:
    """One connection the workspace makes, and whether it is encrypted in transit."""

    name: str
    target: str
    encrypted: bool | None  # None: not a network connection (a local file)
    detail: str


@dataclass(frozen=True)
class ComplianceReport:
    generated_at: dt.datetime
    workspace_id: str
    region: str
    residency_policy: dict[str, Any]
    signing_mode: str
    encryption: dict[str, Any]
    audit: dict[str, Any]
    datasets: list[DataFact]
    models: list[ModelFact]
    transport: list[Connection]

    @property
    def violations(self) -> list[str]:
        """Every finding that needs an answer, one line each."""
        out: list[str] = []
        if not self.audit.get("ok"):
            out.append(
                f"audit chain broken at seq {self.audit.get('first_bad_seq')}: "
                f"{self.audit.get('problem')}"
            )
        for d in self.datasets:
            out += [f"dataset {d.id}: {v}" for v in d.violations]
        for m in self.models:
            out += [f"model {m.id}: {v}" for v in m.violations]
        out += [f"connection {c.name}: {c.detail}" for c in self.transport if c.encrypted is False]
        return out

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["generated_at"] = self.generated_at.isoformat()
        out["violations"] = self.violations
        out["ok"] = self.ok
        return out


def _pg_transport(url: str) -> Connection:
    query = parse_qs(urlsplit(url).query)
    mode = (query.get("sslmode") or ["prefer"])[0]
    target = redact(url.split("?", 1)[0])
    if mode in ("verify-full", "verify-ca"):
        return Connection("metadata database", target, True, f"TLS, server verified ({mode})")
    if mode == "require":
        return Connection(
            "metadata database", target, True, "TLS, server NOT verified (sslmode=require)"
        )
    return Connection(
        "metadata database",
        target,
        False,
        f"not guaranteed encrypted (sslmode={mode}); set sslmode=verify-full",
    )


def transport_facts(settings: Settings, environ: Mapping[str, str]) -> list[Connection]:
    """Which of the workspace's connections are encrypted in transit (TLS) and which not."""
    out: list[Connection] = []
    dsn = settings.metadata_dsn
    if dsn.startswith("sqlite"):
        out.append(Connection("metadata database", redact(dsn), None, "local SQLite file"))
    else:
        out.append(_pg_transport(dsn))
    uri = settings.artifacts_url
    scheme = uri.split("://", 1)[0] if "://" in uri else "file"
    if scheme in ("s3", "s3a"):
        endpoint = environ.get("FSSPEC_S3_ENDPOINT_URL") or environ.get("AWS_ENDPOINT_URL")
        if endpoint is None or endpoint.startswith("https://"):
            out.append(Connection("artifact store", uri, True, f"HTTPS ({endpoint or 'AWS'})"))
        else:
            out.append(Connection("artifact store", uri, False, f"plain HTTP endpoint {endpoint}"))
    elif scheme in ("file", "memory"):
        out.append(Connection("artifact store", uri, None, "local folder"))
    else:
        out.append(Connection("artifact store", uri, None, f"{scheme}: transport not judged"))
    if settings.redis_url:
        tls = settings.redis_url.startswith("rediss://")
        out.append(
            Connection(
                "online store (Redis)",
                redact(settings.redis_url),
                tls,
                "TLS (rediss://)" if tls else "plain TCP (redis://); use rediss://",
            )
        )
    return out


class ComplianceService(Service):
    """``ws.compliance``: builds the report from facts the workspace gathers."""

    def report(self, gather: Callable[[], dict[str, Any]]) -> ComplianceReport:
        """Authorize ``compliance.report``, gather (as the machinery of this call), judge,
        and record the verdict in the ledger."""
        self.authorize(Action.COMPLIANCE_REPORT, "workspace", "*")
        with machinery():
            facts = gather()
        report = ComplianceReport(generated_at=utcnow(), **facts)
        self.audit(
            Action.COMPLIANCE_REPORT,
            "workspace",
            report.workspace_id,
            details={
                "ok": report.ok,
                "violations": len(report.violations),
                "datasets": len(report.datasets),
                "models": len(report.models),
            },
            authorized=True,
        )
        return report


# -- HTML --------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1d2a33}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:2px solid #d8e2e8;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #e3e9ee;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f6f8}.ok{color:#137333;font-weight:600}.bad{color:#b3261e;font-weight:600}
.na{color:#6b7b86}.pill{display:inline-block;padding:.1rem .5rem;border-radius:1rem;
background:#eef3f6;margin:0 .2rem .2rem 0;font-size:.8rem}
.summary{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #d8e2e8;border-radius:.5rem;
padding:.8rem 1rem;min-width:11rem}.card b{font-size:1.4rem;display:block}
"""


def _mark(value: bool | None, yes: str = "yes", no: str = "no", na: str = "n/a") -> str:
    if value is None:
        return f'<span class="na">{na}</span>'
    return f'<span class="ok">{yes}</span>' if value else f'<span class="bad">{no}</span>'


def _pills(items: list[str]) -> str:
    return "".join(f'<span class="pill">{html.escape(i)}</span>' for i in items) or "-"


def _bars(title: str, counts: dict[str, int]) -> str:
    """A small inline SVG bar chart (no script, no external asset)."""
    total = max(sum(counts.values()), 1)
    colors = {"good": "#34a853", "bad": "#d93025", "other": "#9aa7b0"}
    width, y, rows = 420, 0, []
    for label, n in counts.items():
        kind = (
            "good"
            if label.startswith(("signed", "encrypted", "intact", "compliant"))
            else ("other" if label.startswith(("n/a", "local")) else "bad")
        )
        w = int(300 * n / total)
        rows.append(
            f'<text x="0" y="{y + 14}" font-size="12">{html.escape(label)}</text>'
            f'<rect x="110" y="{y + 3}" width="{w}" height="14" fill="{colors[kind]}"/>'
            f'<text x="{115 + w}" y="{y + 14}" font-size="12">{n}</text>'
        )
        y += 20
    return (
        f"<figure><figcaption>{html.escape(title)}</figcaption>"
        f'<svg xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{y + 4}" role="img" aria-label="{html.escape(title)}">'
        + "".join(rows)
        + "</svg></figure>"
    )


def render_html(report: ComplianceReport) -> str:
    """The report as one self-contained HTML page."""
    e = html.escape
    signed = sum(1 for m in report.models if m.signature == "valid")
    enc_objects = [f.encrypted for f in report.datasets] + [m.encrypted for m in report.models]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Falaj compliance report {e(report.workspace_id[:8])}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Compliance report</h1>",
        f"<p>Workspace <code>{e(report.workspace_id)}</code>, region <b>{e(report.region)}</b>, "
        f"generated {e(report.generated_at.strftime('%Y-%m-%d %H:%M:%S UTC'))}.</p>",
        "<div class='summary'>",
        f"<div class='card'>Verdict<b>{_mark(report.ok, 'compliant', 'findings')}</b></div>",
        f"<div class='card'>Audit chain<b>{_mark(bool(report.audit.get('ok')), 'intact', 'BROKEN')}"
        "</b></div>",
        f"<div class='card'>Signed models<b>{signed} / {len(report.models)}</b></div>",
        f"<div class='card'>Encryption at rest<b>"
        f"{_mark(bool(report.encryption.get('enabled')), 'on', 'off')}</b></div>",
        f"<div class='card'>Findings<b>{len(report.violations)}</b></div>",
        "</div>",
        _bars(
            "Model signatures",
            {
                **{"signed": signed},
                **{
                    s: sum(1 for m in report.models if m.signature == s)
                    for s in ("unsigned", "untrusted", "modified", "invalid")
                },
            },
        ),
        _bars(
            "Objects at rest",
            {
                "encrypted": sum(1 for x in enc_objects if x),
                "plaintext": sum(1 for x in enc_objects if x is False),
                "n/a (unreadable)": sum(1 for x in enc_objects if x is None),
            },
        ),
        "<h2>Findings</h2>",
        "<ul>" + "".join(f"<li class='bad'>{e(v)}</li>" for v in report.violations) + "</ul>"
        if report.violations
        else "<p class='ok'>No findings.</p>",
        "<h2>Audit chain</h2><table><tr><th>status</th><th>records checked</th><th>genesis</th>"
        "<th>head seq</th><th>first bad record</th></tr>",
        f"<tr><td>{_mark(bool(report.audit.get('ok')), 'intact', 'broken')}</td>"
        f"<td>{report.audit.get('checked')}</td><td>{report.audit.get('genesis_seq')}</td>"
        f"<td>{report.audit.get('head_seq')}</td>"
        f"<td>{e(str(report.audit.get('first_bad_seq') or '-'))} "
        f"{e(str(report.audit.get('problem') or ''))}</td></tr></table>",
        "<h2>Datasets</h2><table><tr><th>version</th><th>region</th><th>classifications</th>"
        "<th>encrypted</th><th>residency</th></tr>",
    ]
    for d in report.datasets:
        parts.append(
            f"<tr><td>{e(d.id)}</td><td>{e(d.region)}</td><td>{_pills(d.classifications)}</td>"
            f"<td>{_mark(d.encrypted, 'yes' + (f' ({e(d.key_id)})' if d.key_id else ''), 'no')}"
            f"</td><td>{_mark(not d.violations, 'allowed', '; '.join(d.violations))}</td></tr>"
        )
    parts.append(
        "</table><h2>Models</h2><table><tr><th>version</th><th>status</th><th>region</th>"
        "<th>signature</th><th>encrypted</th><th>data carried</th><th>residency</th></tr>"
    )
    for m in report.models:
        parts.append(
            f"<tr><td>{e(m.id)}</td><td>{e(m.status)}</td><td>{e(m.region)}</td>"
            f"<td>{_mark(m.signature == 'valid', 'valid', e(m.signature))}"
            f"<br><small>{e(m.signature_detail)}</small></td><td>{_mark(m.encrypted)}</td>"
            f"<td>{_pills(m.classifications)}</td>"
            f"<td>{_mark(not m.violations, 'allowed', '; '.join(m.violations))}</td></tr>"
        )
    parts.append(
        "</table><h2>Encryption in transit</h2><table><tr><th>connection</th><th>target</th>"
        "<th>encrypted</th><th>detail</th></tr>"
    )
    for c in report.transport:
        parts.append(
            f"<tr><td>{e(c.name)}</td><td><code>{e(c.target)}</code></td>"
            f"<td>{_mark(c.encrypted, 'TLS', 'NO', 'local')}</td><td>{e(c.detail)}</td></tr>"
        )
    policy = report.residency_policy
    rules = "".join(
        f"<tr><td>{e(k)}</td><td>{_pills(list(v))}</td></tr>"
        for k, v in policy.get("rules", {}).items()
    )
    parts += [
        "</table><h2>Encryption at rest and signing</h2><table>",
        f"<tr><th>encryption</th><td>{_mark(bool(report.encryption.get('enabled')), 'on', 'off')}"
        f" current master key {e(str(report.encryption.get('current_key') or '-'))}, "
        f"{report.encryption.get('master_keys', 0)} master key(s)</td></tr>",
        f"<tr><th>signing mode</th><td>{e(report.signing_mode)}</td></tr></table>",
        f"<h2>Residency policy</h2><p>{e(str(policy.get('source')))}</p>",
        f"<table><tr><th>classification</th><th>allowed regions</th></tr>{rules}</table>"
        if rules
        else "<p class='na'>No rules: every classification may live anywhere.</p>",
        "<p class='na'>Server TLS is configured on the server (see docs/trust.md); this report "
        "covers the connections this workspace makes.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)
