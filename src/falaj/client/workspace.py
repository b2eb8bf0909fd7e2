"""``RemoteWorkspace``: the embedded Workspace's Python API, served by ``falaj server``.

Implemented remotely: ``tracking`` (experiments, runs, batched logging, artifacts, models,
search), ``registry`` (models, versions, approvals, promotion, loading), ``artifacts``,
``datasets`` (list, get, register, load), ``audit``, ``pipelines`` (reading runs) and
``identity`` (admin). Anything else raises :class:`NotSupportedRemotelyError` naming it.
"""

from __future__ import annotations

import os
from functools import cached_property
from types import TracebackType
from typing import Any

from falaj.client.data import RemoteDatasets
from falaj.client.http import Http, NotSupportedRemotelyError
from falaj.client.registry import RemoteRegistry
from falaj.client.services import RemoteArtifacts, RemoteAudit, RemoteIdentity, RemotePipelines
from falaj.client.tracking import RemoteRun, RemoteTracking
from falaj.errors import ConfigError
from falaj.governance.principal import Principal

__all__ = ["NotSupportedRemotelyError", "RemoteWorkspace", "connect"]


class RemoteWorkspace:
    """A workspace reached over HTTP. Use as a context manager or call :meth:`close`."""

    is_remote = True

    def __init__(
        self, url: str, token: str, *, timeout: float = 60.0, verify: bool | str = True
    ) -> None:
        self._http = Http(url, token, timeout=timeout, verify=verify)
        self.url = self._http.url

    @cached_property
    def tracking(self) -> RemoteTracking:
        return RemoteTracking(self._http)

    @cached_property
    def registry(self) -> RemoteRegistry:
        return RemoteRegistry(self._http)

    @cached_property
    def datasets(self) -> RemoteDatasets:
        return RemoteDatasets(self._http)

    @cached_property
    def artifacts(self) -> RemoteArtifacts:
        return RemoteArtifacts(self._http)

    @cached_property
    def audit(self) -> RemoteAudit:
        return RemoteAudit(self._http)

    @cached_property
    def pipelines(self) -> RemotePipelines:
        return RemotePipelines(self._http)

    @cached_property
    def identity(self) -> RemoteIdentity:
        return RemoteIdentity(self._http)

    def start_run(
        self,
        experiment: str,
        *,
        run_name: str | None = None,
        tags: dict[str, str] | None = None,
        parent_run_id: str | None = None,
    ) -> RemoteRun:
        return self.tracking.start_run(
            experiment, run_name=run_name, tags=tags, parent_run_id=parent_run_id
        )

    @property
    def principal(self) -> Principal:
        """Who the token authenticates (asked from the server)."""
        me = self.identity.whoami()
        return Principal(me["name"], me["kind"], frozenset(me.get("roles") or ()))

    @property
    def home(self) -> str:
        return self.url

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotSupportedRemotelyError(
            f"{name!r} is not available on a remote workspace ({self.url}); remote workspaces "
            "offer tracking, registry, artifacts, datasets, audit, pipelines (read) and identity"
        )

    def close(self) -> None:
        if "tracking" in self.__dict__:
            self.tracking.flush()
        self._http.close()

    def __enter__(self) -> RemoteWorkspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RemoteWorkspace(url={self.url!r})"


def connect(
    url: str | None = None,
    *,
    token: str | None = None,
    timeout: float = 60.0,
    verify: bool | str = True,
) -> RemoteWorkspace:
    """A :class:`RemoteWorkspace` for ``url`` (default ``$FALAJ_SERVER_URL``), authenticated by
    ``token`` (default ``$FALAJ_TOKEN``, then the token ``falaj login`` stored for the URL)."""
    from falaj.client.credentials import load_token

    url = url or os.environ.get("FALAJ_SERVER_URL")
    if not url:
        raise ConfigError(
            "no server URL: pass one to connect() or set FALAJ_SERVER_URL "
            "(e.g. http://127.0.0.1:8000)"
        )
    token = token or os.environ.get("FALAJ_TOKEN") or load_token(url)
    if not token:
        raise ConfigError(
            f"no token for {url}: pass token=..., set FALAJ_TOKEN, or run `falaj login`"
        )
    return RemoteWorkspace(url, token, timeout=timeout, verify=verify)
