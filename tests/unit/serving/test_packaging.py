"""``falaj build`` output: manifests valid against the Kubernetes JSON schemas (offline)."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from falaj.errors import InvalidInputError
from falaj.serving.packaging import build_bundle

K8S = kubernetes_validate.latest_version()


def test_bundle_writes_a_dockerfile_and_schema_valid_manifests(tmp_path: Path) -> None:
    result = build_bundle("credit", tmp_path / "out", image="registry.local/credit:1", workers=2)
    names = sorted(p.name for p in result.files)
    assert names == ["Dockerfile", "knative.yaml", "kubernetes-cpu.yaml", "kubernetes-gpu.yaml"]
    docker = (tmp_path / "out" / "Dockerfile").read_text()
    assert "python -m build --wheel" in docker
    assert '"serve", "--deployment", "credit"' in docker and '"--workers", "2"' in docker
    kinds: dict[str, list[str]] = {}
    for profile in ("cpu", "gpu"):
        docs = list(
            yaml.safe_load_all((tmp_path / "out" / f"kubernetes-{profile}.yaml").read_text())
        )
        for doc in docs:
            kubernetes_validate.validate(doc, K8S, strict=True)  # raises on any schema error
        kinds[profile] = [d["kind"] for d in docs]
        pod = docs[0]["spec"]["template"]["spec"]["containers"][0]
        assert pod["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
        assert pod["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
        assert pod["image"] == "registry.local/credit:1"
        gpu = pod["resources"]["limits"].get("nvidia.com/gpu")
        assert gpu == ("1" if profile == "gpu" else None)
    assert kinds["cpu"] == [
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    ]
    (knative,) = yaml.safe_load_all((tmp_path / "out" / "knative.yaml").read_text())
    assert knative["apiVersion"] == "serving.knative.dev/v1"
    template = knative["spec"]["template"]
    assert template["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"] == "0"
    # the container of the Knative Service is a Kubernetes container: validate it as a pod's
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "knative-container-check"},
        "spec": {"containers": [{"name": "server", **template["spec"]["containers"][0]}]},
    }
    kubernetes_validate.validate(pod, K8S, strict=True)


def test_a_broken_manifest_is_caught_by_the_schema_check() -> None:
    bad = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replicas": "two"},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S, strict=True)


def test_names_that_kubernetes_refuses_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="deployment name 'Credit_Risk'"):
        build_bundle("Credit_Risk", tmp_path)
