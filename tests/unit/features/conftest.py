"""Fixtures of the feature store tests: a workspace whose feature store runs on a fixed clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from falaj.features.links import FeatureLinks
from falaj.features.online.sqlite_store import SqliteOnlineStore
from falaj.features.service import FeatureStoreService
from falaj.governance.principal import Principal
from falaj.workspace import Workspace

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Clock:
    """A clock the test sets (no wall-clock time in tests)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + dt.timedelta(days=10))


@pytest.fixture
def fs_ws(tmp_path: Path, clock: Clock) -> Iterator[tuple[Workspace, FeatureStoreService]]:
    ws = Workspace.init(tmp_path / "ws", principal=Principal("alice"), region="ae-dubai-1")
    links = FeatureLinks(artifacts=ws.artifacts, datasets=lambda: ws.datasets)
    fs = FeatureStoreService(
        ws.context(), links, lambda: SqliteOnlineStore(tmp_path / "online.db"), clock=clock
    )
    try:
        yield ws, fs
    finally:
        fs.close()
        ws.close()


def at(days: float, hours: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=days, hours=hours)
