"""Monitors: checks and thresholds per model, on a schedule; alerts to webhooks; retraining.

A monitor watches ``MODEL@REF`` (an alias follows the alias: after a promotion the monitor
watches the new champion). Its spec (validated on create)::

    checks:
      drift:       {since: 24h, drift_share: 0.5, alpha: 0.05}       # dataset-level drift
      performance: {since: 7d, metric: accuracy, min: 0.7}           # labelled feedback
      health:      {since: 1h, max_error_rate: 0.05, max_latency_p95_ms: 500}  # per revision
    webhooks: [https://hooks.example/falaj]
    trigger: {on: [drift, performance], pipeline: module:attr, params: {...}}
    schedule_s: 3600
    reference: german-credit@1          # optional; default: the training dataset (lineage)

A run evaluates each check; a failing check records an alert (``monitoring_alerts``) and POSTs
it as JSON to every webhook (what each answered is stored with the alert). When a check named
in ``trigger.on`` alerts, the retraining trigger runs the version's training pipeline again (the
pipeline run its lineage names, with the same parameters, or ``trigger.pipeline``), without the
step cache so fresh data is read. The version it registers waits at the gates: the trigger
never moves an alias.
"""

from __future__ import annotations

import builtins
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from falaj.errors import AlreadyExistsError, InvalidInputError
from falaj.governance.authorization import Action
from falaj.governance.context import machinery
from falaj.governance.service import Service, ServiceContext
from falaj.lineage.graph import Node
from falaj.monitoring.drift import DriftConfig
from falaj.monitoring.errors import MonitorNotFoundError, MonitorSpecError
from falaj.monitoring.tables import monitoring_alerts, monitoring_monitors
from falaj.monitoring.windows import parse_duration
from falaj.store.schema import new_id, utcnow
from falaj.textcheck import check_text

if TYPE_CHECKING:
    from falaj.monitoring.service import MonitoringService

__all__ = ["Alert", "Monitor", "MonitorRun", "Monitors", "RetrainResult", "validate_spec"]

CHECKS = ("drift", "performance", "health")
_CHECK_KEYS = {
    "drift": {"since", "drift_share", "alpha", "correction"},
    "performance": {"since", "metric", "min", "max"},
    "health": {"since", "max_error_rate", "max_latency_p95_ms"},
}
#: how long one webhook may take to answer (a slow receiver is recorded as an error, never
#: retried and never fails the monitor run)
WEBHOOK_TIMEOUT_S = 10.0
_SPEC_KEYS = {"checks", "webhooks", "trigger", "schedule_s", "reference", "last_states"}


@dataclass(frozen=True)
class Monitor:
    name: str
    model: str
    ref: str
    spec: dict[str, Any]
    enabled: bool
    created_by: str
    created_at: dt.datetime
    last_run_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "ref": self.ref,
            "spec": self.spec,
            "enabled": self.enabled,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
        }


@dataclass(frozen=True)
class Alert:
    id: str
    monitor: str
    model: str
    version: int
    check: str
    severity: str
    message: str
    details: dict[str, Any]
    deliveries: list[dict[str, Any]]
    created_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "monitor": self.monitor,
            "model": self.model,
            "version": self.version,
            "check": self.check,
            "severity": self.severity,
            "message": self.message,
            "details": self.details,
            "deliveries": self.deliveries,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class RetrainResult:
    pipeline_run_id: str
    pipeline: str
    versions: list[str]
    gates: dict[str, bool]

    def as_dict(self) -> dict[str, Any]:
        return {
            "pipeline_run_id": self.pipeline_run_id,
            "pipeline": self.pipeline,
            "versions": self.versions,
            "gates_passed": self.gates,
        }


@dataclass
class MonitorRun:
    monitor: str
    model: str
    version: int
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    retrain: RetrainResult | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "model": self.model,
            "version": self.version,
            "checks": self.checks,
            "alerts": [a.as_dict() for a in self.alerts],
            "retrain": self.retrain.as_dict() if self.retrain else None,
        }


def validate_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with defaults, or a :class:`MonitorSpecError` naming the field."""
    if not isinstance(spec, dict):
        raise MonitorSpecError(f"monitor spec {spec!r} is invalid: expected a mapping")
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise MonitorSpecError(
            f"monitor spec field(s) {', '.join(sorted(unknown))} are unknown: expected "
            f"{', '.join(sorted(_SPEC_KEYS - {'last_states'}))}"
        )
    checks = spec.get("checks") or {}
    if not isinstance(checks, dict) or not checks:
        raise MonitorSpecError(
            "monitor spec field 'checks' is invalid: expected at least one check"
        )
    for name, conf in checks.items():
        if name not in CHECKS:
            raise MonitorSpecError(
                f"check {name!r} is unknown: expected one of {', '.join(CHECKS)}"
            )
        conf = conf or {}
        if not isinstance(conf, dict) or set(conf) - _CHECK_KEYS[name]:
            raise MonitorSpecError(
                f"check {name!r} is invalid: expected a mapping with keys among "
                f"{', '.join(sorted(_CHECK_KEYS[name]))}"
            )
        if "since" in conf:
            try:
                parse_duration(str(conf["since"]))
            except InvalidInputError as exc:
                raise MonitorSpecError(f"check {name!r} field 'since' is invalid: {exc}") from None
        if name == "drift":
            _drift_config(conf)
        if name == "performance" and "min" not in conf and "max" not in conf:
            raise MonitorSpecError("check 'performance' needs a 'min' or 'max' threshold")
    hooks = spec.get("webhooks") or []
    if not isinstance(hooks, list) or not all(
        isinstance(h, str) and h.startswith(("http://", "https://")) for h in hooks
    ):
        raise MonitorSpecError(f"webhooks {hooks!r} are invalid: expected a list of http(s) URLs")
    trigger = spec.get("trigger")
    if trigger is not None:
        if not isinstance(trigger, dict) or set(trigger) - {"on", "pipeline", "params"}:
            raise MonitorSpecError(
                "trigger is invalid: expected a mapping with 'on', 'pipeline', 'params'"
            )
        on = trigger.get("on") or list(checks)
        if not isinstance(on, list) or set(on) - set(checks):
            raise MonitorSpecError(f"trigger.on {on!r} is invalid: expected names of the checks")
        trigger = {**trigger, "on": on}
    schedule = spec.get("schedule_s", 3600)
    if not isinstance(schedule, int) or schedule <= 0:
        raise MonitorSpecError(f"schedule_s {schedule!r} is invalid: expected seconds > 0")
    return {**spec, "checks": checks, "webhooks": hooks, "trigger": trigger, "schedule_s": schedule}


def _drift_config(conf: dict[str, Any]) -> DriftConfig:
    kwargs = {k: conf[k] for k in ("drift_share", "alpha", "correction") if k in conf}
    try:
        return DriftConfig(**kwargs)
    except InvalidInputError as exc:
        raise MonitorSpecError(f"check 'drift' is invalid: {exc}") from None


def _monitor(row: Any) -> Monitor:
    return Monitor(
        row.name, row.model, row.ref, row.spec, row.enabled, row.created_by, row.created_at,
        row.last_run_at,
    )  # fmt: skip


def _alert(row: Any) -> Alert:
    return Alert(
        row.id, row.monitor, row.model, row.version, row.check_name, row.severity, row.message,
        row.details, row.deliveries, row.created_at,
    )  # fmt: skip


class Monitors(Service):
    """``ws.monitoring.monitors``: create, list, run monitors; alerts; retraining."""

    def __init__(self, context: ServiceContext, monitoring: MonitoringService) -> None:
        super().__init__(context)
        self._m = monitoring

    def create(
        self, name: str, model: str, ref: int | str = "champion", *, spec: dict[str, Any]
    ) -> Monitor:
        """A monitor of ``model@ref`` (an alias follows the alias) with ``spec``."""
        ref = str(ref)
        check_text("monitor name", name, optional=False)
        if not isinstance(name, str) or not 0 < len(name) <= 200:
            raise InvalidInputError(f"monitor name {name!r} is invalid: expected 1-200 characters")
        clean = validate_spec(spec)
        self.authorize(Action.MONITOR_CREATE, "monitor", name)
        with machinery():
            self._m.links.registry().get_version(model, int(ref) if ref.isdigit() else ref)
        with self.mutation(
            Action.MONITOR_CREATE, "monitor", name, details={"model": model, "ref": ref},
            authorized=True,
        ) as m:  # fmt: skip
            exists = m.conn.execute(
                sa.select(monitoring_monitors.c.name).where(monitoring_monitors.c.name == name)
            ).first()
            if exists is not None:
                raise AlreadyExistsError(f"monitor {name!r} already exists")
            m.conn.execute(
                sa.insert(monitoring_monitors).values(
                    name=name, model=model, ref=str(ref), spec=clean, enabled=True,
                    created_by=m.actor.principal.name, created_at=utcnow(), last_run_at=None,
                )
            )  # fmt: skip
        with machinery():
            return self.get(name)

    def get(self, name: str) -> Monitor:
        self.authorize(Action.MONITORING_READ, "monitor", name)
        with self.store.read() as conn:
            row = conn.execute(
                sa.select(monitoring_monitors).where(monitoring_monitors.c.name == name)
            ).first()
        if row is None:
            raise MonitorNotFoundError(f"monitor {name!r} does not exist")
        return _monitor(row)

    def list(self) -> list[Monitor]:
        self.authorize(Action.MONITORING_READ, "monitor", "*")
        with self.store.read() as conn:
            rows = conn.execute(sa.select(monitoring_monitors).order_by(monitoring_monitors.c.name))
            return [_monitor(r) for r in rows]

    def alerts(self, monitor: str | None = None, *, limit: int = 100) -> builtins.list[Alert]:
        self.authorize(Action.MONITORING_READ, "monitor", monitor or "*")
        a = monitoring_alerts
        query = sa.select(a).order_by(a.c.created_at.desc()).limit(limit)
        if monitor is not None:
            query = query.where(a.c.monitor == monitor)
        with self.store.read() as conn:
            return [_alert(r) for r in conn.execute(query)]

    def due(self, now: dt.datetime | None = None) -> builtins.list[Monitor]:
        """Enabled monitors whose schedule says they should run at ``now``."""
        current = now or utcnow()
        return [
            m
            for m in self.list()
            if m.enabled
            and (
                m.last_run_at is None
                or current - m.last_run_at >= dt.timedelta(seconds=m.spec["schedule_s"])
            )
        ]

    # -- running --------------------------------------------------------------------------------
    def run(self, name: str, *, now: dt.datetime | None = None) -> MonitorRun:
        """Evaluate every check now; alert on failures; trigger retraining when configured."""
        self.authorize(Action.MONITOR_RUN, "monitor", name)
        with machinery():
            mon = self.get(name)
        current = now or utcnow()
        spec = mon.spec
        ref: int | str = int(mon.ref) if mon.ref.isdigit() else mon.ref
        with machinery():
            mv = self._m.links.registry().get_version(mon.model, ref)
        run = MonitorRun(mon.name, mv.name, mv.version)
        failing: list[tuple[str, str, dict[str, Any]]] = []
        for check, conf in spec["checks"].items():
            conf = conf or {}
            since = parse_duration(str(conf.get("since", "24h")))
            with machinery():
                outcome = getattr(self, f"_check_{check}")(
                    mv.name, mv.version, conf, since, current, spec
                )
            run.checks[check] = outcome
            if outcome["alert"]:
                failing.append((check, outcome["message"], outcome))
        for check, message, outcome in failing:
            run.alerts.append(self._raise_alert(mon, mv.version, check, message, outcome, current))
        states = {check: bool(o["alert"]) for check, o in run.checks.items()}
        with self.mutation(
            Action.MONITOR_RUN, "monitor", name, details={"alerts": len(run.alerts), **states},
            authorized=True,
        ) as m:  # fmt: skip
            m.conn.execute(
                sa.update(monitoring_monitors)
                .where(monitoring_monitors.c.name == name)
                .values(last_run_at=current, spec={**spec, "last_states": states})
            )
        trigger = spec.get("trigger")
        if trigger and any(states.get(c) for c in trigger["on"]):
            run.retrain = self.retrain(
                mv.name, mv.version, pipeline=trigger.get("pipeline"), params=trigger.get("params")
            )
        return run

    def _check_drift(
        self, model: str, version: int, conf: dict[str, Any], since: dt.timedelta,
        now: dt.datetime, spec: dict[str, Any],
    ) -> dict[str, Any]:  # fmt: skip
        outcome = self._m.drift(
            model, version, reference=spec.get("reference"), since=since, until=now,
            config=_drift_config(conf),
        )  # fmt: skip
        report = outcome.report
        cols = report.drifted_columns
        return {
            "alert": report.drifted,
            "message": f"{model} v{version}: drift in {len(cols)} of {len(report.features)} "
            f"features ({', '.join(cols) or 'none'}) over {report.rows} predictions",
            "drifted_columns": cols,
            "share_drifted": report.share_drifted,
            "rows": report.rows,
            "result_id": outcome.result_id,
        }

    def _check_performance(
        self, model: str, version: int, conf: dict[str, Any], since: dt.timedelta,
        now: dt.datetime, spec: dict[str, Any],
    ) -> dict[str, Any]:  # fmt: skip
        outcome = self._m.performance(model, version, since=since, until=now)
        perf = outcome.performance
        metric = str(conf.get("metric", "accuracy"))
        value = perf.metrics.get(metric)
        low, high = conf.get("min"), conf.get("max")
        bad = value is not None and (
            (low is not None and value < low) or (high is not None and value > high)
        )
        bound = f"min {low}" if low is not None else f"max {high}"
        return {
            "alert": bool(bad),
            "message": f"{model} v{version}: {metric} "
            f"{value if value is None else round(value, 4)} over {perf.labelled} labelled "
            f"predictions ({bound})",
            "metric": metric,
            "value": value,
            "labelled": perf.labelled,
            "result_id": outcome.result_id,
        }

    def _check_health(
        self, model: str, version: int, conf: dict[str, Any], since: dt.timedelta,
        now: dt.datetime, spec: dict[str, Any],
    ) -> dict[str, Any]:  # fmt: skip
        source = self._m.links.request_stats()
        if source is None:
            return {
                "alert": False,
                "message": "no request statistics source is wired",
                "skipped": True,
            }
        stats = source.request_stats(model, now - since, now)
        max_err = conf.get("max_error_rate")
        max_lat = conf.get("max_latency_p95_ms")
        bad = []
        for s in stats:
            rate = s.errors / s.requests if s.requests else 0.0
            if max_err is not None and rate > max_err:
                bad.append(f"revision {s.revision}: error rate {rate:.3f} > {max_err}")
            if max_lat is not None and s.latency_p95_ms > max_lat:
                bad.append(
                    f"revision {s.revision}: p95 latency {s.latency_p95_ms:.0f} ms > {max_lat}"
                )
        return {
            "alert": bool(bad),
            "message": f"{model}: " + ("; ".join(bad) if bad else "healthy"),
            "revisions": [s.__dict__ for s in stats],
        }

    def _raise_alert(
        self, mon: Monitor, version: int, check: str, message: str, details: dict[str, Any],
        now: dt.datetime,
    ) -> Alert:  # fmt: skip
        aid = new_id()
        row = {
            "id": aid, "monitor": mon.name, "model": mon.model, "version": version,
            "check_name": check, "severity": "critical" if check == "health" else "warning",
            "message": message, "details": details, "deliveries": [], "created_at": now,
        }  # fmt: skip
        with self.mutation(
            Action.MONITOR_RUN, "alert", aid, details={"monitor": mon.name, "check": check},
            authorized=True,
        ) as m:  # fmt: skip
            m.conn.execute(sa.insert(monitoring_alerts).values(**row))
        alert = _alert(type("Row", (), row))
        deliveries = [
            _post(url, {"alert": alert.as_dict()}) for url in mon.spec.get("webhooks", [])
        ]
        if deliveries:
            with self.store.transaction() as conn:
                conn.execute(
                    sa.update(monitoring_alerts)
                    .where(monitoring_alerts.c.id == aid)
                    .values(deliveries=deliveries)
                )
        return Alert(**{**alert.__dict__, "deliveries": deliveries})

    # -- retraining -----------------------------------------------------------------------------
    def retrain(
        self,
        model: str,
        version: int,
        *,
        pipeline: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> RetrainResult:
        """Run the version's training pipeline again on fresh data (no step cache). New
        versions it registers wait at the gates; no alias is moved."""
        self.authorize(Action.MONITOR_RUN, "model_version", f"{model}/{version}")
        source, base = (
            self._producing_pipeline(model, version) if pipeline is None else (pipeline, {})
        )
        pipes = self._m.links.pipelines()
        run = pipes.run(source, params={**base, **(params or {})}, use_cache=False)
        with machinery():
            edges = self._m.links.lineage.downstream(Node("pipeline_run", run.id))
            registry = self._m.links.registry()
            made = sorted({e.target.id for e in edges if e.target.kind == "model_version"})
            gates = {ref: registry.check_gates(*_split(ref)).passed for ref in made}
        return RetrainResult(run.id, source, made, gates)

    def _producing_pipeline(self, model: str, version: int) -> tuple[str, dict[str, Any]]:
        with machinery():
            edges = self._m.links.lineage.upstream(Node("model_version", f"{model}/{version}"))
            runs = [e.source.id for e in edges if e.source.kind == "pipeline_run"]
            if not runs:
                raise MonitorSpecError(
                    f"{model} v{version} was not produced by a pipeline (its lineage names none); "
                    "name one in the monitor's trigger.pipeline (module:attr)"
                )
            produced = self._m.links.pipelines().get_run(runs[0])
        if not produced.source:
            raise MonitorSpecError(
                f"pipeline run {produced.id} of {model} v{version} has no importable source; "
                "name one in the monitor's trigger.pipeline"
            )
        return produced.source, dict(produced.params)


def _split(ref: str) -> tuple[str, int]:
    name, _, number = ref.rpartition("/")
    return name, int(number)


def _post(url: str, payload: dict[str, Any]) -> dict[str, Any]:
    """POST an alert; the outcome (status or error) is returned, never raised."""
    import httpx

    from falaj.training.reports.html import dumps

    try:
        response = httpx.post(
            url, content=dumps(payload, indent=None), timeout=WEBHOOK_TIMEOUT_S,
            headers={"content-type": "application/json"},
        )  # fmt: skip
        return {"url": url, "status": response.status_code, "error": None}
    except httpx.HTTPError as exc:
        return {"url": url, "status": None, "error": f"{type(exc).__name__}: {exc}"[:300]}
