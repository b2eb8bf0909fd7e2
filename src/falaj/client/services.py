"""Remote artifacts, audit log, pipeline runs and identity administration."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, BinaryIO

from falaj.artifacts.service import ArtifactInfo
from falaj.client.codec import from_jsonable
from falaj.client.http import Http, RemotePart
from falaj.client.tracking import q
from falaj.governance.audit import AuditEvent
from falaj.governance.authorization import Binding
from falaj.governance.identity.service import User
from falaj.governance.identity.tokens import ApiToken
from falaj.pipelines.records import PipelineRun

__all__ = ["RemoteArtifacts", "RemoteAudit", "RemoteIdentity", "RemotePipelines"]


class RemoteArtifacts(RemotePart):
    """``ws.artifacts`` of a remote workspace: content-addressed objects, streamed."""

    def __init__(self, http: Http) -> None:
        self._http = http

    def put_bytes(
        self, data: bytes, *, media_type: str = "application/octet-stream"
    ) -> ArtifactInfo:
        answer = self._http.put(
            "/artifacts", content=bytes(data), headers={"content-type": media_type}
        )
        return from_jsonable(ArtifactInfo, answer)

    def put_file(self, path: str | Path, *, media_type: str | None = None) -> ArtifactInfo:
        with Path(path).open("rb") as handle:
            return self.put_stream(handle, media_type=media_type or "application/octet-stream")

    def put_stream(
        self,
        stream: BinaryIO,
        *,
        media_type: str = "application/octet-stream",
        name: str | None = None,
    ) -> ArtifactInfo:
        answer = self._http.put("/artifacts", content=stream, headers={"content-type": media_type})
        return from_jsonable(ArtifactInfo, answer)

    def info(self, digest: str) -> ArtifactInfo:
        return from_jsonable(ArtifactInfo, self._http.get(f"/artifacts/{q(digest)}/info"))

    def get_bytes(self, digest: str) -> bytes:
        return self._http.request("GET", f"/artifacts/{q(digest)}").content

    def get_file(self, digest: str, dest: str | Path) -> Path:
        target = Path(dest)
        with self._http.stream(f"/artifacts/{q(digest)}") as response, target.open("wb") as out:
            for chunk in response.iter_bytes():
                out.write(chunk)
        return target


class RemoteAudit(RemotePart):
    """``ws.audit`` of a remote workspace (``audit.read``)."""

    def __init__(self, http: Http) -> None:
        self._http = http

    def list(
        self,
        *,
        principal: str | None = None,
        action: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        outcome: str | None = None,
        since: dt.datetime | None = None,
        limit: int = 100,
        newest_first: bool = True,
    ) -> list[AuditEvent]:
        params: dict[str, Any] = {"limit": limit}
        for key, value in (
            ("principal", principal),
            ("action", action),
            ("resource_type", resource_type),
            ("resource_id", resource_id),
            ("outcome", outcome),
        ):
            if value is not None:
                params[key] = value
        events = [from_jsonable(AuditEvent, e) for e in self._http.get("/audit", params=params)]
        if since is not None:
            events = [e for e in events if e.occurred_at >= since]
        return events if newest_first else list(reversed(events))


class RemotePipelines(RemotePart):
    """``ws.pipelines`` of a remote workspace: reading pipeline runs."""

    def __init__(self, http: Http) -> None:
        self._http = http

    def list_runs(
        self, *, pipeline: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[PipelineRun]:
        params: dict[str, Any] = {"limit": limit}
        if pipeline is not None:
            params["pipeline"] = pipeline
        if status is not None:
            params["status"] = status
        return [from_jsonable(PipelineRun, r) for r in self._http.get("/pipelines", params=params)]

    def get_run(self, run_id: str) -> PipelineRun:
        return from_jsonable(PipelineRun, self._http.get(f"/pipelines/runs/{q(run_id)}"))


class RemoteIdentity(RemotePart):
    """``ws.identity`` of a remote workspace (admins: users, bindings, tokens)."""

    def __init__(self, http: Http) -> None:
        self._http = http

    def create_user(
        self,
        name: str,
        *,
        role: str | None = None,
        kind: str = "user",
        project: str | None = None,
        resource: str | None = None,
    ) -> User:
        body = {"name": name, "role": role, "kind": kind, "project": project, "resource": resource}
        return from_jsonable(User, self._http.post("/users", body))

    def get_user(self, name: str) -> User:
        return from_jsonable(User, self._http.get(f"/users/{q(name)}"))

    def list_users(self) -> list[User]:
        return [from_jsonable(User, u) for u in self._http.get("/users")]

    def set_active(self, name: str, active: bool) -> User:
        verb = "activate" if active else "deactivate"
        return from_jsonable(User, self._http.post(f"/users/{q(name)}/{verb}"))

    def deactivate(self, name: str) -> User:
        return self.set_active(name, False)

    def bind(
        self, subject: str, role: str, *, project: str | None = None, resource: str | None = None
    ) -> Binding:
        body = {"role": role, "project": project, "resource": resource}
        return from_jsonable(Binding, self._http.post(f"/users/{q(subject)}/roles", body))

    def create_token(
        self,
        user: str,
        *,
        expires: str | None = "30d",
        scopes: list[str] | None = None,
        description: str | None = None,
    ) -> tuple[ApiToken, str]:
        body = {"user": user, "expires": expires, "scopes": scopes, "description": description}
        data = self._http.post("/tokens", body)
        return from_jsonable(ApiToken, data), str(data["token"])

    def list_tokens(self, user: str | None = None) -> list[ApiToken]:
        params = {"user": user} if user is not None else {}
        return [from_jsonable(ApiToken, t) for t in self._http.get("/tokens", params=params)]

    def revoke_token(self, token_id: str) -> ApiToken:
        return from_jsonable(ApiToken, self._http.delete(f"/tokens/{q(token_id)}"))

    def whoami(self) -> dict[str, Any]:
        data: dict[str, Any] = self._http.get("/whoami")
        return data
