"""Remote registry: models, versions, approvals, promotion through the gates, loading."""

from __future__ import annotations

from typing import Any

from falaj.client.codec import from_jsonable
from falaj.client.http import Http, RemotePart
from falaj.client.tracking import q
from falaj.registry.models import (
    Approval,
    Evidence,
    ModelVersion,
    PromotionRecord,
    RegisteredModel,
)
from falaj.tracking.entities import LoggedModel

__all__ = ["RemoteRegistry"]


class RemoteRegistry(RemotePart):
    """``ws.registry`` of a remote workspace."""

    def __init__(self, http: Http) -> None:
        self._http = http

    def list_models(self) -> list[RegisteredModel]:
        return [from_jsonable(RegisteredModel, m) for m in self._http.get("/models")]

    def get_model(self, name: str) -> RegisteredModel:
        return from_jsonable(RegisteredModel, self._http.get(f"/models/{q(name)}"))

    def list_versions(self, name: str, *, include_deleted: bool = False) -> list[ModelVersion]:
        versions = [
            from_jsonable(ModelVersion, v) for v in self._http.get(f"/models/{q(name)}/versions")
        ]
        return [v for v in versions if include_deleted or v.status != "DELETED"]

    def get_version(self, name: str, version_or_alias: int | str) -> ModelVersion:
        data = self._http.get(f"/models/{q(name)}/versions/{q(version_or_alias)}")
        return from_jsonable(ModelVersion, data)

    def create_version(
        self,
        name: str,
        model: LoggedModel | str,
        *,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> ModelVersion:
        uri = f"runs:/{model.run_id}/{model.name}" if isinstance(model, LoggedModel) else model
        body = {"model_uri": uri, "description": description, "tags": tags or {}}
        return from_jsonable(ModelVersion, self._http.post(f"/models/{q(name)}/versions", body))

    def approve(
        self, name: str, version: int, *, comment: str, attested_by: str | None = None
    ) -> Approval:
        """Approve as the token's principal (``attested_by`` has no meaning remotely: the
        server judges the authenticated identity)."""
        data = self._http.post(
            f"/models/{q(name)}/versions/{q(version)}/approvals", {"comment": comment}
        )
        return from_jsonable(Approval, data)

    def approvals(self, name: str, version: int) -> list[Approval]:
        data = self._http.get(f"/models/{q(name)}/versions/{q(version)}/approvals")
        return [from_jsonable(Approval, a) for a in data]

    def promote(
        self, name: str, version: int, *, alias: str = "champion", reason: str
    ) -> PromotionRecord:
        data = self._http.put(
            f"/models/{q(name)}/aliases/{q(alias)}", json={"version": version, "reason": reason}
        )
        return from_jsonable(PromotionRecord, data)

    def promotions(self, name: str) -> list[PromotionRecord]:
        data = self._http.get(f"/models/{q(name)}/promotions")
        return [from_jsonable(PromotionRecord, p) for p in data]

    def evidence(self, name: str, version: int, *, kind: str | None = None) -> list[Evidence]:
        params = {"kind": kind} if kind is not None else {}
        data = self._http.get(f"/models/{q(name)}/versions/{q(version)}/evidence", params=params)
        return [from_jsonable(Evidence, e) for e in data]

    def aliases(self, name: str) -> dict[str, int]:
        return {str(k): int(v) for k, v in self._http.get(f"/models/{q(name)}/aliases").items()}

    def check_gates(self, name: str, version: int | str) -> Any:
        from falaj.registry.gates import GateReport

        data = self._http.get(f"/models/{q(name)}/versions/{q(version)}/gates")
        return from_jsonable(GateReport, data)

    def load_model(self, name: str, version_or_alias: int | str, *, trusted: bool = False) -> Any:
        """Download the version's packed model and load it here (signature enforced; a
        pickle-based model needs ``trusted=True``, exactly as embedded)."""
        from falaj.tracking.models import unpack_model

        response = self._http.request(
            "GET", f"/models/{q(name)}/versions/{q(version_or_alias)}/model"
        )
        return unpack_model(response.content, trusted=trusted)
