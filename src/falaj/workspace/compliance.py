"""The facts the compliance report is built from, gathered through the workspace's services:
where every dataset and model version lives, encryption at rest, signatures, residency, the
audit chain and transport encryption (``falaj compliance report``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from falaj.workspace.core import Workspace

__all__ = ["compliance_facts"]


def compliance_facts(ws: Workspace) -> dict[str, Any]:
    import os

    from falaj.artifacts.encryption import EncryptedObjectStore
    from falaj.governance.compliance import DataFact, ModelFact, transport_facts
    from falaj.governance.residency import labels_of

    policy = ws.registry.residency()
    objects = ws.objects_store
    encrypted = isinstance(objects, EncryptedObjectStore)

    def at_rest(digest: str) -> tuple[bool | None, str | None]:
        if not objects.exists(digest):
            return None, None
        if not isinstance(objects, EncryptedObjectStore):
            return False, None
        key_id = objects.key_id_of(digest)
        if key_id is not None:
            return True, key_id
        return (None, None) if objects.is_encrypted_object(digest) else (False, None)

    datasets = []
    for dv in ws.datasets.latest_versions():
        for v in ws.datasets.versions(dv.name):
            labels = sorted(labels_of(v.classifications))
            enc, key_id = at_rest(v.artifact_digest)
            bad = [
                f"{c} may not live in {v.region} (allowed: {list(policy.rules[c].regions)})"
                for c in policy.violations(labels, v.region)
            ]
            datasets.append(DataFact(v.id, v.region, labels, enc, key_id, bad))
    models = []
    for model in ws.registry.list_models():
        for mv in ws.registry.list_versions(model.name):
            check = ws.registry.verify_signature(mv.name, mv.version)
            carried = ws.model_classifications(mv.name, mv.version)
            region = ws.artifacts.info(mv.artifact_digest).region
            enc, _ = at_rest(mv.artifact_digest)
            bad = [
                f"carries {c} data, which may not live in {region}"
                for c in policy.violations(carried, region)
            ]
            if check.status != "valid":
                bad.append(f"signature {check.status}: {check.detail}")
            models.append(
                ModelFact(
                    mv.ref,
                    mv.status,
                    region,
                    check.status,
                    check.detail,
                    check.key_id,
                    enc,
                    sorted(carried),
                    bad,
                )
            )
    chain = ws.audit.verify()
    first = chain.first_bad
    keys = ws.keys.list() if encrypted else []
    return {
        "workspace_id": ws.id,
        "region": ws.settings.region,
        "residency_policy": policy.as_dict(),
        "signing_mode": ws.settings.signing_mode,
        "encryption": {
            "enabled": encrypted,
            "current_key": next((k.key_id for k in keys if k.current), None),
            "master_keys": len(keys),
            "destroyed_keys": sum(1 for k in keys if k.destroyed),
        },
        "audit": {
            "ok": chain.ok,
            "checked": chain.checked,
            "genesis_seq": chain.genesis_seq,
            "head_seq": chain.head_seq,
            "first_bad_seq": first.seq if first else None,
            "problem": first.problem if first else None,
        },
        "datasets": datasets,
        "models": models,
        "transport": transport_facts(ws.settings, os.environ),
    }
