"""Import an MLflow tracking store: experiments, runs (params, full metric history, tags,
artifacts) and registered models with their versions and aliases.

Importing twice does not duplicate anything: every imported run carries the tag
``mlflow.run_id`` and every imported model version the tags ``mlflow.model_name`` and
``mlflow.version``; what is already there is skipped.

Models are converted to Falaj flavors. Formats that need no code to load are converted directly
(ONNX, XGBoost's native file, LightGBM's native booster, scikit-learn saved with skops). MLflow's
default scikit-learn format is a pickle: loading it runs code, so those versions are imported only
with ``trust_pickles=True`` (they are then re-saved as skops, which Falaj loads safely); without
it they are listed in the report as skipped, with the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from falaj.errors import BackendUnavailableError, FalajError, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from falaj.registry.service import RegistryService
    from falaj.tracking.entities import LoggedModel
    from falaj.tracking.service import TrackingService

__all__ = ["ImportTarget", "MlflowImportReport", "import_mlflow"]


class ImportTarget(Protocol):
    """Where an import writes (``falaj.workspace.Workspace`` satisfies it)."""

    @property
    def tracking(self) -> TrackingService: ...

    @property
    def registry(self) -> RegistryService: ...


_log = logging.getLogger("falaj.interop")
RUN_TAG = "mlflow.run_id"
_PARENT_TAG = "mlflow.parentRunId"
_STATUS = {"SCHEDULED": "RUNNING", "RUNNING": "RUNNING", "FINISHED": "FINISHED"}
_STATUS.update({"FAILED": "FAILED", "KILLED": "KILLED"})
_NAME_BAD = re.compile(r"[^A-Za-z0-9_\-. ]+")
_KEY_BAD = re.compile(r"[^A-Za-z0-9_\-./: ]+")
_MODEL_BAD = re.compile(r"[^A-Za-z0-9_\-.]+")


@dataclass
class MlflowImportReport:
    """What an import did; ``skipped`` lists what was left out and why."""

    tracking_uri: str
    experiments: int = 0
    runs_imported: int = 0
    runs_already_present: int = 0
    params: int = 0
    metric_points: int = 0
    tags: int = 0
    artifacts: int = 0
    models: int = 0
    versions_imported: int = 0
    versions_already_present: int = 0
    aliases_set: int = 0
    run_ids: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "run_ids"} | {
            "runs_mapped": len(self.run_ids)
        }


def _experiment_name(name: str) -> str:
    cleaned = _NAME_BAD.sub("-", name.strip().strip("/")).strip(" -.") or "imported"
    if not cleaned[0].isalnum():
        cleaned = "x" + cleaned
    return cleaned[:200]


def _key(key: str) -> str:
    return _KEY_BAD.sub("_", key).strip()[:250] or "_"


def _model_name(name: str) -> str:
    cleaned = _MODEL_BAD.sub("-", name).strip("-.") or "model"
    return ("m" + cleaned if not cleaned[0].isalnum() else cleaned)[:200]


def _time(ms: int | None) -> dt.datetime | None:
    return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def import_mlflow(
    ws: ImportTarget,
    tracking_uri: str,
    *,
    registry_uri: str | None = None,
    experiments: list[str] | None = None,
    include_artifacts: bool = True,
    include_models: bool = True,
    trust_pickles: bool = False,
) -> MlflowImportReport:
    """Import the MLflow store at ``tracking_uri`` into ``ws`` (idempotent)."""
    if not isinstance(tracking_uri, str) or not tracking_uri.strip():
        raise InvalidInputError(f"tracking_uri {tracking_uri!r} is invalid: expected an MLflow URI")
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise BackendUnavailableError(
            "importing from MLflow needs the mlflow package: pip install mlflow"
        ) from exc
    for uri in (tracking_uri, registry_uri):
        _refuse_missing_sqlite_file(uri)
    client = _connect(MlflowClient, tracking_uri, registry_uri)
    report = MlflowImportReport(tracking_uri=tracking_uri)
    report.run_ids = ws.tracking.find_imported(RUN_TAG)
    with tempfile.TemporaryDirectory(prefix="falaj-mlflow-") as tmp:
        _import_runs(ws, client, report, experiments, include_artifacts, Path(tmp))
        if include_models:
            _import_registry(ws, client, report, trust_pickles, Path(tmp))
    return report


def _refuse_missing_sqlite_file(uri: str | None) -> None:
    """A ``sqlite:///`` store must exist: MLflow would create an empty one (and its folders)."""
    if uri is None or not uri.startswith("sqlite:///"):
        return
    path = uri[len("sqlite:///") :].split("?", 1)[0]
    if path and path != ":memory:" and not Path(path).is_file():
        raise NotFoundError(
            f"MLflow store {uri!r}: there is no SQLite file at {path} (check the path; "
            "sqlite:////abs/path.db for an absolute path, sqlite:///rel/path.db for a relative one)"
        )


def _connect(client_cls: Any, tracking_uri: str, registry_uri: str | None) -> Any:
    try:
        client = client_cls(tracking_uri=tracking_uri, registry_uri=registry_uri or tracking_uri)
        client.search_experiments(max_results=1)
    except Exception as exc:  # MLflow raises many kinds; all mean "cannot read this store"
        raise BackendUnavailableError(
            f"cannot read the MLflow tracking store {tracking_uri!r}: {exc}"
        ) from exc
    return client


def _all(fetch: Any) -> list[Any]:
    """Every item of a paged MLflow search (``fetch(page_token)`` returns a PagedList)."""
    items: list[Any] = []
    token = None
    while True:
        page = fetch(token)
        items.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return items


def _import_runs(
    ws: ImportTarget,
    client: Any,
    report: MlflowImportReport,
    wanted: list[str] | None,
    include_artifacts: bool,
    tmp: Path,
) -> None:
    from mlflow.entities import ViewType

    exps = _all(lambda t: client.search_experiments(view_type=ViewType.ALL, page_token=t))
    if wanted is not None:
        missing = sorted(set(wanted) - {e.name for e in exps})
        if missing:
            raise InvalidInputError(
                f"experiment(s) {', '.join(map(repr, missing))} are not in the MLflow store"
            )
        exps = [e for e in exps if e.name in wanted]
    all_runs: list[tuple[str, Any]] = []
    for exp in exps:
        runs = _all(
            lambda t, e=exp: client.search_runs(
                [e.experiment_id], run_view_type=ViewType.ALL, max_results=1000, page_token=t
            )
        )
        if runs or exp.name != "Default":
            report.experiments += 1
        all_runs.extend((_experiment_name(exp.name), r) for r in runs)
    # parents before children, so a child can point at its imported parent
    ids = {r.info.run_id for _, r in all_runs}

    def depth(run: Any, seen: int = 0) -> int:
        parent = run.data.tags.get(_PARENT_TAG)
        if parent not in ids or seen > 50:
            return 0
        return 1 + depth(by_id[parent], seen + 1)

    by_id = {r.info.run_id: r for _, r in all_runs}
    all_runs.sort(key=lambda pair: (depth(pair[1]), pair[1].info.start_time or 0))
    for exp_name, run in all_runs:
        source_id = run.info.run_id
        if source_id in report.run_ids:
            report.runs_already_present += 1
            continue
        falaj_id = _import_one_run(ws, client, report, exp_name, run)
        report.run_ids[source_id] = falaj_id
        report.runs_imported += 1
        if include_artifacts:
            _import_artifacts(ws, client, report, source_id, falaj_id, tmp)


def _import_one_run(
    ws: ImportTarget, client: Any, report: MlflowImportReport, exp_name: str, run: Any
) -> str:
    from falaj.tracking.imports import RunImport

    info, data = run.info, run.data
    metrics: list[tuple[str, float, int, float]] = []
    for key in data.metrics:
        for point in client.get_metric_history(info.run_id, key):
            metrics.append((_key(key), point.value, int(point.step), point.timestamp / 1000))
    tags: dict[str, str] = {}
    for key, value in data.tags.items():
        if len(value) > 8000:
            report.skipped.append(f"run {info.run_id}: tag {key!r} ({len(value)} chars, too long)")
            continue
        tags[_key(key)] = value
    tags[RUN_TAG] = info.run_id
    params = {_key(k): v[:8000] for k, v in data.params.items()}
    parent = data.tags.get(_PARENT_TAG)
    name = (info.run_name or data.tags.get("mlflow.runName") or info.run_id[:8])[:200]
    spec = RunImport(
        experiment=exp_name,
        name=name,
        status=_STATUS.get(info.status, "FINISHED"),
        start_time=_time(info.start_time) or dt.datetime.now(dt.UTC),
        end_time=_time(info.end_time),
        params=params,
        metrics=metrics,
        tags=tags,
        parent_id=report.run_ids.get(parent) if parent else None,
    )
    run_id = ws.tracking.import_run(spec)
    report.params += len(params)
    report.metric_points += len(metrics)
    report.tags += len(tags)
    return run_id


def _import_artifacts(
    ws: ImportTarget,
    client: Any,
    report: MlflowImportReport,
    source_id: str,
    falaj_id: str,
    tmp: Path,
) -> None:
    pending = [""]
    while pending:
        path = pending.pop()
        for entry in client.list_artifacts(source_id, path or None):
            if entry.is_dir:
                pending.append(entry.path)
                continue
            local = client.download_artifacts(source_id, entry.path, str(tmp))
            ws.tracking.import_artifact(falaj_id, local, entry.path)
            report.artifacts += 1


# -- registry ----------------------------------------------------------------------------------
def _import_registry(
    ws: ImportTarget, client: Any, report: MlflowImportReport, trust: bool, tmp: Path
) -> None:
    try:
        models = _all(lambda t: client.search_registered_models(max_results=100, page_token=t))
    except Exception as exc:  # a tracking-only server has no registry
        report.skipped.append(f"registry: cannot list registered models ({exc})")
        return
    for model in models:
        name = _model_name(model.name)
        versions = _all(
            lambda t, m=model: client.search_model_versions(
                f"name='{m.name}'", max_results=200, page_token=t
            )
        )
        done = _existing_versions(ws, name)
        mapping: dict[str, int] = {}
        for mv in sorted(versions, key=lambda v: int(v.version)):
            number = str(mv.version)
            if number in done:
                mapping[number] = done[number]
                report.versions_already_present += 1
                continue
            created = _import_version(ws, client, report, model, mv, name, trust, tmp)
            if created is not None:
                mapping[number] = created
        _import_aliases(ws, report, model, name, mapping)
        _import_description(ws, model, name, mapping)


def _existing_versions(ws: ImportTarget, name: str) -> dict[str, int]:
    from falaj.errors import NotFoundError

    try:
        versions = ws.registry.list_versions(name, include_deleted=True)
    except NotFoundError:
        return {}
    return {v.tags["mlflow.version"]: v.version for v in versions if "mlflow.version" in v.tags}


def _import_version(
    ws: ImportTarget,
    client: Any,
    report: MlflowImportReport,
    model: Any,
    mv: Any,
    name: str,
    trust: bool,
    tmp: Path,
) -> int | None:
    label = f"model {model.name!r} version {mv.version}"
    run_id = report.run_ids.get(mv.run_id or "")
    if run_id is None:
        report.skipped.append(f"{label}: its run {mv.run_id!r} was not imported")
        return None
    try:
        logged = _convert_model(ws, client, mv, run_id, f"{name}-v{mv.version}", trust, tmp)
    except _Skip as why:
        report.skipped.append(f"{label}: {why}")
        return None
    report.models += 1
    tags = {_key(k): v for k, v in (mv.tags or {}).items() if len(v) <= 8000}
    tags.update({"mlflow.model_name": model.name, "mlflow.version": str(mv.version)})
    if getattr(mv, "current_stage", None) and mv.current_stage != "None":
        tags["mlflow.stage"] = mv.current_stage
    version = ws.registry.create_version(
        name, logged, description=mv.description or None, tags=tags
    )
    report.versions_imported += 1
    return version.version


def _import_aliases(
    ws: ImportTarget, report: MlflowImportReport, model: Any, name: str, mapping: dict[str, int]
) -> None:
    aliases = dict(getattr(model, "aliases", {}) or {})
    if not aliases or not mapping:
        return
    current = ws.registry.aliases(name)
    for alias, version in sorted(aliases.items()):
        target = mapping.get(str(version))
        if target is None:
            report.skipped.append(f"model {model.name!r} alias {alias!r}: version not imported")
            continue
        if current.get(alias) == target:
            continue
        ws.registry.set_alias(name, alias, target, reason="imported from MLflow")
        report.aliases_set += 1


def _import_description(ws: ImportTarget, model: Any, name: str, mapping: dict[str, int]) -> None:
    description = getattr(model, "description", None) or None
    if not description or not mapping:
        return
    if ws.registry.get_model(name).description != description:
        ws.registry.set_model_description(name, description)


class _Skip(Exception):
    """A model version that cannot be converted (the message says why)."""


def _convert_model(
    ws: ImportTarget, client: Any, mv: Any, run_id: str, model_name: str, trust: bool, tmp: Path
) -> LoggedModel:
    import mlflow

    from falaj.yamlsafe import load_yaml, read_yaml_file

    target = tmp / f"model-{mv.name}-{mv.version}".replace("/", "_")
    try:
        source = str(mv.source)
        if source.startswith("models:/m-"):  # MLflow 3: a logged model, found through tracking
            source = client.get_logged_model(source[len("models:/") :]).artifact_location
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(target)))
        spec = load_yaml(read_yaml_file(local / "MLmodel"), source=f"{mv.source}/MLmodel")
    except (OSError, FalajError, Exception) as exc:
        raise _Skip(f"cannot download its model from {mv.source!r} ({exc})") from exc
    flavors: dict[str, Any] = spec.get("flavors") or {}
    example = _input_example(local)
    model, trusted = _native_model(local, flavors, trust)
    try:
        return ws.tracking.import_model(
            run_id, model, model_name, input_example=example, trusted=trusted
        )
    except FalajError as exc:
        raise _Skip(f"cannot store it as a Falaj model ({exc})") from exc


def _input_example(local: Path) -> Any:
    try:
        from mlflow.models import Model

        example = Model.load(str(local)).load_input_example(str(local))
    except Exception:  # no example, or one MLflow cannot read back: the signature is skipped
        return None
    import pandas as pd

    return example if isinstance(example, pd.DataFrame) else None


def _native_model(local: Path, flavors: dict[str, Any], trust: bool) -> tuple[Any, bool]:
    """The model object, from a format that runs no code when possible; (model, trusted)."""
    if "onnx" in flavors:
        import onnx

        return onnx.load(str(local / flavors["onnx"].get("data", "model.onnx"))), False
    if "xgboost" in flavors:
        import xgboost as xgb

        spec = flavors["xgboost"]
        classes = {
            "xgboost.sklearn.XGBClassifier": xgb.XGBClassifier,
            "xgboost.sklearn.XGBRegressor": xgb.XGBRegressor,
            "xgboost.core.Booster": xgb.Booster,
        }
        cls = classes.get(spec.get("model_class", "xgboost.core.Booster"))
        if cls is None:
            raise _Skip(f"XGBoost model class {spec.get('model_class')!r} is not supported")
        model = cls()
        model.load_model(str(local / spec["data"]))
        return model, False
    if "lightgbm" in flavors and str(flavors["lightgbm"].get("data", "")).endswith(".lgb"):
        import lightgbm as lgb

        return lgb.Booster(model_file=str(local / flavors["lightgbm"]["data"])), False
    sk = flavors.get("sklearn")
    if sk and sk.get("serialization_format") == "skops":
        import skops.io as sio

        from falaj.tracking.models import TRUSTED_TYPES

        data = (local / sk["pickled_model"]).read_bytes()
        extra = set(sio.get_untrusted_types(data=data)) - TRUSTED_TYPES
        if extra and not trust:
            raise _Skip(f"its skops file holds types outside the allow-list: {sorted(extra)}")
        found = set(sio.get_untrusted_types(data=data))
        return sio.loads(data, trusted=sorted(found)), bool(extra)
    if not trust:
        kinds = ", ".join(sorted(k for k in flavors if k != "python_function")) or "pyfunc"
        raise _Skip(
            f"its {kinds} model is a pickle (loading it runs code); re-run with "
            "--trust-pickles if you trust this MLflow store"
        )
    return _pickled_model(local, flavors), True


def _pickled_model(local: Path, flavors: dict[str, Any]) -> Any:
    import mlflow

    if "sklearn" in flavors:
        return mlflow.sklearn.load_model(str(local))
    if "lightgbm" in flavors:
        return mlflow.lightgbm.load_model(str(local))
    return mlflow.pyfunc.load_model(str(local))
