"""``ws.features``: register definitions, build training sets, fill and read the online store.

Every public call asks the authorization seam first. Writes to the metadata store (definition
versions, materialization watermarks, lineage) go through :meth:`Service.mutation`; the online
store and DuckDB are touched outside any metadata transaction (gather, then write).
"""

from __future__ import annotations

import builtins
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from falaj.errors import InvalidInputError
from falaj.features import catalog
from falaj.features.catalog import Registered
from falaj.features.definitions import (
    Definition,
    Entity,
    FeatureService,
    FeatureView,
    parse_feature_ref,
)
from falaj.features.errors import FeatureDefinitionError, FeatureNotFoundError
from falaj.features.inputs import as_columns, check_columns, entity_timestamp, utc
from falaj.features.links import FeatureLinks, SourceVersion
from falaj.features.lookup import FeatureLookup, OnlinePlan, ViewPlan, read_columns
from falaj.features.online.base import OnlineStore
from falaj.features.results import ApplyResult, Freshness, MaterializeResult
from falaj.features.sql import ViewInput
from falaj.features.tables import feature_materializations as fm
from falaj.governance.authorization import Action
from falaj.governance.context import machinery
from falaj.governance.service import Service, ServiceContext
from falaj.lineage.graph import Node, record_edge
from falaj.store.schema import utcnow

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ApplyResult", "FeatureStoreService", "Freshness", "MaterializeResult"]

Clock = Callable[[], dt.datetime]


class FeatureStoreService(Service):
    """Feature definitions, point-in-time training data, materialization, online reads."""

    def __init__(
        self,
        context: ServiceContext,
        links: FeatureLinks,
        online: Callable[[], OnlineStore],
        *,
        clock: Clock | None = None,
        plan_cache_s: float = 5.0,
    ) -> None:
        super().__init__(context)
        self._links = links
        self._online_factory = online
        self._online: OnlineStore | None = None
        self._clock: Clock = clock or (lambda: dt.datetime.now(dt.UTC))
        #: online reads reuse a resolved plan this long (definitions applied by this service
        #: are seen at once; by another process, within ``plan_cache_s``); 0 disables
        self._plan_cache_s = plan_cache_s
        self._plans: dict[tuple[str, ...] | str, tuple[float, OnlinePlan]] = {}
        self._plans_lock = threading.Lock()

    @property
    def online_store(self) -> OnlineStore:
        if self._online is None:
            self._online = self._online_factory()
        return self._online

    def close(self) -> None:
        if self._online is not None:
            self._online.close()
            self._online = None

    # -- definitions ---------------------------------------------------------------------------
    def apply(self, definitions: Iterable[Definition] | str | Path) -> ApplyResult:
        """Register definitions (objects, or a YAML file's path): a changed one gets a new
        version, an unchanged one is left as it is. All or nothing, in one transaction."""
        if isinstance(definitions, str | Path):
            from falaj.features.yaml_defs import load_definitions

            items: list[Definition] = load_definitions(definitions)
        else:
            items = list(definitions)
        for item in items:
            if not isinstance(item, Entity | FeatureView | FeatureService):
                raise FeatureDefinitionError(
                    f"definition {item!r} is invalid: expected an Entity, FeatureView or "
                    "FeatureService"
                )
        seen: set[tuple[str, str]] = set()
        for item in items:
            if (item.kind, item.name) in seen:
                raise FeatureDefinitionError(f"{item.kind} {item.name!r} is given twice")
            seen.add((item.kind, item.name))
        self.authorize(Action.FEATURE_APPLY, "feature_store", "definitions")
        with self.store.read() as conn:
            current = catalog.latest(conn)
        self._check_references(items, current)
        with self.mutation(
            Action.FEATURE_APPLY, "feature_store", "definitions", authorized=True
        ) as m:
            current = catalog.latest(m.conn)  # again, inside the write transaction
            changed, unchanged = catalog.apply_specs(
                m.conn, items, current, by=self.principal.name, now=utcnow()
            )
            m.details.update(
                changed=[f"{r.kind}:{r.id}" for r in changed], unchanged=len(unchanged)
            )
        with self._plans_lock:
            self._plans.clear()
        return ApplyResult(changed, unchanged)

    def _check_references(
        self, items: Sequence[Definition], current: dict[tuple[str, str], Registered]
    ) -> None:
        entities = {n: r.definition for (k, n), r in current.items() if k == "entity"}
        views = {n: r.definition for (k, n), r in current.items() if k == "feature_view"}
        entities.update({i.name: i for i in items if isinstance(i, Entity)})
        views.update({i.name: i for i in items if isinstance(i, FeatureView)})
        sources: dict[str, SourceVersion] = {}
        for item in items:
            if isinstance(item, FeatureView):
                keys = self._join_keys(item, entities)
                if item.source not in sources:
                    sources[item.source] = self._source(item.source)
                check_columns(item, keys, sources[item.source])
            elif isinstance(item, FeatureService):
                for ref in item.features:
                    view_name, feature = parse_feature_ref(ref)
                    view = views.get(view_name)
                    if not isinstance(view, FeatureView) or feature not in view.features:
                        raise FeatureNotFoundError(
                            f"feature service {item.name!r}: feature {ref!r} is not defined"
                        )

    @staticmethod
    def _join_keys(view: FeatureView, entities: Mapping[str, Any]) -> tuple[str, ...]:
        keys: list[str] = []
        for name in view.entities:
            entity = entities.get(name)
            if not isinstance(entity, Entity):
                raise FeatureNotFoundError(
                    f"feature view {view.name!r}: entity {name!r} is not defined (apply it "
                    "with the view or before it)"
                )
            keys += [k for k in entity.join_keys if k not in keys]
        return tuple(keys)

    def _source(self, ref: str) -> SourceVersion:
        return self._links.datasets().get(ref)

    def list(self, kind: str | None = None) -> list[Registered]:
        """The latest version of every definition (of ``kind``: entity, feature_view,
        feature_service), by kind then name."""
        if kind is not None and kind not in ("entity", "feature_view", "feature_service"):
            raise InvalidInputError(
                f"kind {kind!r} is invalid: expected entity, feature_view or feature_service"
            )
        self.authorize(Action.FEATURE_READ, "feature_store", "*")
        with self.store.read() as conn:
            found = catalog.latest(conn, kind)
        return [found[k] for k in sorted(found)]

    def get(self, name: str, *, kind: str = "feature_view") -> Registered:
        """The latest version of one definition."""
        history = self.history(name, kind=kind)
        return history[-1]

    def history(self, name: str, *, kind: str = "feature_view") -> builtins.list[Registered]:
        """Every version of one definition, oldest first."""
        self.authorize(Action.FEATURE_READ, kind, name)
        with self.store.read() as conn:
            found = catalog.versions(conn, kind, name)
        if not found:
            raise FeatureNotFoundError(f"{kind.replace('_', ' ')} {name!r} is not registered")
        return found

    # -- resolving feature references ----------------------------------------------------------
    def _resolve(
        self, features: Sequence[str] | str, taken: Iterable[str] = ()
    ) -> tuple[
        builtins.list[tuple[Registered, tuple[str, ...], builtins.list[str], builtins.list[str]]],
        builtins.list[str],
    ]:
        """(view version, join keys, features, output names) per view, and the view names."""
        with self.store.read() as conn:
            current = catalog.latest(conn)
        if isinstance(features, str):
            service = current.get(("feature_service", features))
            if service is None:
                raise FeatureNotFoundError(
                    f"feature service {features!r} is not registered (pass a list of "
                    "'view:feature' references, or a feature service name)"
                )
            assert isinstance(service.definition, FeatureService)
            refs: Sequence[str] = service.definition.features
        else:
            refs = list(features)
        if not refs:
            raise InvalidInputError("features is empty: expected at least one 'view:feature'")
        wanted: dict[str, builtins.list[str]] = {}
        for ref in refs:
            view_name, feature = parse_feature_ref(ref)
            reg = current.get(("feature_view", view_name))
            if reg is None:
                raise FeatureNotFoundError(f"feature view {view_name!r} is not registered")
            assert isinstance(reg.definition, FeatureView)
            if feature not in reg.definition.features:
                raise FeatureNotFoundError(
                    f"feature {ref!r} is not defined: view {view_name!r} has "
                    f"{', '.join(reg.definition.features)}"
                )
            wanted.setdefault(view_name, [])
            if feature not in wanted[view_name]:
                wanted[view_name].append(feature)
        entities = {n: r.definition for (k, n), r in current.items() if k == "entity"}
        counts: dict[str, int] = {}
        for feats in wanted.values():
            for f in feats:
                counts[f] = counts.get(f, 0) + 1
        taken = set(taken)
        out = []
        for view_name, feats in wanted.items():
            reg = current[("feature_view", view_name)]
            assert isinstance(reg.definition, FeatureView)
            keys = self._join_keys(reg.definition, entities)
            names = [
                f if counts[f] == 1 and f not in taken and f not in keys else f"{view_name}__{f}"
                for f in feats
            ]
            out.append((reg, keys, feats, names))
        return out, list(wanted)

    @contextmanager
    def _inputs(
        self,
        resolved: Sequence[
            tuple[Registered, tuple[str, ...], builtins.list[str], builtins.list[str]]
        ],
    ) -> Iterator[builtins.list[tuple[ViewInput, builtins.list[str], builtins.list[str]]]]:
        """Each view's source Parquet as a verified local file, for the duration of the block."""
        with ExitStack() as stack:
            out = []
            for reg, keys, feats, names in resolved:
                view = reg.definition
                assert isinstance(view, FeatureView)
                source = self._source(view.source)
                with machinery():
                    path = stack.enter_context(
                        self._links.artifacts.local_path(source.artifact_digest)
                    )
                out.append((ViewInput(view, reg.version, keys, path, source.id), feats, names))
            yield out

    # -- offline -------------------------------------------------------------------------------
    def get_historical(
        self,
        entity_df: pd.DataFrame,
        features: Sequence[str] | str,
        *,
        timestamp: str | None = None,
        register_as: str | None = None,
        chunk_rows: int = 1_000_000,
        memory_limit: str | None = None,
    ) -> pd.DataFrame:
        """Point-in-time correct features for every row of ``entity_df`` (original order, nulls
        where nothing matched); see :mod:`falaj.features.offline` for the exact rule.

        ``features``: ``["view:feature", ...]`` or a feature service name. ``timestamp``: the
        entity frame's time column (default: ``event_timestamp``, else its only datetime
        column). ``register_as``: also register the result as a dataset version, with lineage
        from the feature view versions and their source versions.
        """
        import pandas as pd

        from falaj.features.offline import historical

        if not isinstance(entity_df, pd.DataFrame):
            raise InvalidInputError(
                f"entity_df {type(entity_df).__name__} is invalid: expected a pandas DataFrame"
            )
        if not isinstance(chunk_rows, int) or chunk_rows <= 0:
            raise InvalidInputError(f"chunk_rows {chunk_rows!r} is invalid: expected an int > 0")
        ts = entity_timestamp(entity_df, timestamp)
        self.authorize(Action.FEATURE_READ, "feature_store", "historical")
        resolved, _ = self._resolve(features, taken=entity_df.columns)
        missing = sorted({k for _, keys, _, _ in resolved for k in keys} - set(entity_df.columns))
        if missing:
            raise InvalidInputError(
                f"entity_df lacks join key column(s) {', '.join(missing)}: expected them beside "
                f"{ts!r}"
            )
        with self._inputs(resolved) as inputs:
            result = historical(
                entity_df, ts, inputs, chunk_rows=chunk_rows, memory_limit=memory_limit
            )
            sources = [(src.view.name, src.version, src.source_version) for src, _, _ in inputs]
        if register_as is not None:
            self._register_training_set(register_as, result, sources)
        return result

    def _register_training_set(
        self, name: str, frame: pd.DataFrame, sources: builtins.list[tuple[str, int, str]]
    ) -> None:
        views = ", ".join(f"{v}@{n}" for v, n, _ in sources)
        registered = self._links.datasets().register(
            name, frame, description=f"point-in-time features from {views}"
        )
        target = Node("dataset_version", registered.id)
        with self.mutation(
            Action.LINEAGE_RECORD, "dataset_version", registered.id, details={"views": views}
        ) as m:
            for view, version, source in sources:
                node = Node("feature_view", f"{view}@{version}")
                record_edge(
                    m.conn, Node("dataset_version", source), node, "source_of", m.actor.principal
                )
                record_edge(m.conn, node, target, "features_of", m.actor.principal)

    # -- online --------------------------------------------------------------------------------
    def materialize(
        self,
        end: dt.datetime | None = None,
        *,
        views: Sequence[str] | None = None,
        full: bool = False,
        batch_rows: int = 50_000,
    ) -> builtins.list[MaterializeResult]:
        """Fill the online store with each view's latest values as of ``end`` (default: now).

        Incremental by default (rows new since the view's watermark); ``full`` rewrites the
        view from scratch, as does a view whose definition version changed.
        """
        stop = utc(end) if end is not None else self._clock()
        self.authorize(Action.FEATURE_MATERIALIZE, "feature_store", ",".join(views or ["*"]))
        with self.store.read() as conn:
            current = catalog.latest(conn, "feature_view")
            marks = {r.view: r for r in conn.execute(sa.select(fm))}
        names = list(views) if views is not None else sorted(n for _, n in current)
        for name in names:
            if ("feature_view", name) not in current:
                raise FeatureNotFoundError(f"feature view {name!r} is not registered")
        results = []
        for name in names:
            results.append(
                self._materialize_one(
                    current[("feature_view", name)], marks.get(name), stop, full, batch_rows
                )
            )
        return results

    def _materialize_one(
        self, reg: Registered, mark: Any, end: dt.datetime, full: bool, batch_rows: int
    ) -> MaterializeResult:
        from falaj.features.materialize import materialize_view

        view = reg.definition
        assert isinstance(view, FeatureView)
        with self.store.read() as conn:
            entities = {n: r.definition for (_, n), r in catalog.latest(conn, "entity").items()}
        keys = self._join_keys(view, entities)
        redo = full or mark is None or mark.view_version != reg.version
        since = None if redo else utc(mark.watermark)
        if since is not None and end <= since:
            return MaterializeResult(
                view.name, reg.version, mark.source_version, 0, since, end, False
            )
        store = self.online_store
        source = self._source(view.source)
        if redo:
            store.drop_view(view.name)
        with machinery(), self._links.artifacts.local_path(source.artifact_digest) as path:
            src = ViewInput(view, reg.version, keys, path, source.id)
            written = materialize_view(src, store, end=end, since=since, batch_rows=batch_rows)
        total = written + (0 if redo or mark is None else int(mark.rows_written))
        values = {
            "view_version": reg.version,
            "source_version": source.id,
            "watermark": end,
            "rows_written": total,
            "online_store": store.kind,
            "updated_by": self.principal.name,
            "updated_at": utcnow(),
        }
        with self.mutation(
            Action.FEATURE_MATERIALIZE,
            "feature_view",
            view.name,
            details={"rows": written, "end": end.isoformat(), "full": redo},
            authorized=True,
        ) as m:
            done = m.conn.execute(sa.update(fm).where(fm.c.view == view.name).values(**values))
            if done.rowcount == 0:
                m.conn.execute(sa.insert(fm).values(view=view.name, **values))
        return MaterializeResult(view.name, reg.version, source.id, written, since, end, redo)

    def freshness(self) -> builtins.list[Freshness]:
        """Per feature view: the online watermark, its age now, and whether it is stale."""
        self.authorize(Action.FEATURE_READ, "feature_store", "*")
        with self.store.read() as conn:
            current = catalog.latest(conn, "feature_view")
            marks = {r.view: r for r in conn.execute(sa.select(fm))}
        now = self._clock()
        out = []
        for (_, name), reg in sorted(current.items()):
            assert isinstance(reg.definition, FeatureView)
            mark = marks.get(name)
            wm = utc(mark.watermark) if mark is not None else None
            out.append(
                Freshness(
                    name,
                    reg.definition.ttl_seconds,
                    wm,
                    (now - wm).total_seconds() if wm is not None else None,
                    int(mark.rows_written) if mark is not None else 0,
                    mark.online_store if mark is not None else None,
                )
            )
        return out

    def _plan(self, features: Sequence[str] | str) -> OnlinePlan:
        if not isinstance(features, str) and not all(isinstance(f, str) for f in features):
            return self._build_plan(features)  # malformed: _resolve names the mistake
        key = features if isinstance(features, str) else tuple(features)
        now = time.monotonic()
        with self._plans_lock:
            cached = self._plans.get(key)
        if cached is not None and now - cached[0] < self._plan_cache_s:
            return cached[1]
        plan = self._build_plan(features)
        if self._plan_cache_s > 0:
            with self._plans_lock:
                if len(self._plans) > 1000:
                    self._plans.clear()
                self._plans[key] = (now, plan)
        return plan

    def _build_plan(self, features: Sequence[str] | str) -> OnlinePlan:
        resolved, _ = self._resolve(features)
        return OnlinePlan(
            tuple(
                ViewPlan(
                    reg.name,
                    keys,
                    reg.definition.ttl_seconds if isinstance(reg.definition, FeatureView) else None,
                    tuple(feats),
                    tuple(names),
                )
                for reg, keys, feats, names in resolved
            )
        )

    def read_online(
        self, entities: Mapping[str, Any] | pd.DataFrame, features: Sequence[str] | str
    ) -> dict[str, builtins.list[Any]]:
        """:meth:`get_online` as plain columns (``{name: [values]}``), without pandas: the join
        key columns, then the features and one ``VIEW__fresh`` column per view."""
        self.authorize(Action.FEATURE_ONLINE_READ, "feature_store", "online")
        plan = self._plan(features)
        rows = as_columns(entities)
        columns, _ = read_columns(plan, self.online_store, rows, self._clock())
        out = {k: rows[k] for k in plan.join_keys}
        out.update(columns)
        return out

    def get_online(
        self, entities: Mapping[str, Any] | pd.DataFrame, features: Sequence[str] | str
    ) -> pd.DataFrame:
        """The online values for entity rows (``{"customer_id": [1, 2]}`` or a DataFrame): the
        join key columns, one column per feature, and ``VIEW__fresh`` per view. A value older
        than the view's TTL reads as missing (None) with ``VIEW__fresh`` False."""
        import pandas as pd

        return pd.DataFrame(self.read_online(entities, features))

    def lookup(self, features: Sequence[str] | str) -> FeatureLookup:
        """A :class:`~falaj.features.lookup.FeatureLookup` for a feature service (by name) or
        a list of references: the model server's hook to fetch features by entity key."""
        self.authorize(Action.FEATURE_ONLINE_READ, "feature_store", "online")
        return FeatureLookup(self._plan(features), self.online_store, self._clock)
