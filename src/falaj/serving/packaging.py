"""``falaj build``: a Dockerfile and Kubernetes/Knative manifests that run ``falaj serve``.

Written for one deployment: the image builds the wheel of the project it is run from and runs
``falaj serve --deployment NAME`` against the workspace named by ``FALAJ_DB_URL`` and
``FALAJ_ARTIFACT_URI`` (PostgreSQL and object storage, so replicas coordinate through the store).
Manifests: a Deployment (readiness on ``/v2/health/ready``, liveness on ``/v2/health/live``), a
Service, a HorizontalPodAutoscaler, a PodDisruptionBudget, CPU and GPU resource profiles, and a
Knative Service that scales to zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from falaj.serving.service import check_deployment_name

__all__ = ["PROFILES", "BuildResult", "build_bundle", "manifests"]

#: Resource profiles: requests/limits per container; ``gpu`` asks for one NVIDIA GPU (ONNX
#: models run on onnxruntime's CUDA execution provider when the image has onnxruntime-gpu).
PROFILES: dict[str, dict[str, Any]] = {
    "cpu": {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    },
    "gpu": {
        "requests": {"cpu": "1", "memory": "2Gi", "nvidia.com/gpu": "1"},
        "limits": {"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": "1"},
    },
}

_DOCKERFILE = """\
# Built by `falaj build {name}`: the model server for deployment {name!r}.
# Build from the project root:  docker build -f {rel}/Dockerfile -t {image} .
FROM python:3.11-slim AS build
WORKDIR /src
COPY . /src
RUN pip install --no-cache-dir build && python -m build --wheel --outdir /wheels

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 falaj
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir "$(ls /wheels/falaj-*.whl)[postgres,s3,serve]" && rm -rf /wheels
USER falaj
ENV FALAJ_HOME=/home/falaj/workspace PYTHONUNBUFFERED=1
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD python -c \\
  "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/v2/health/ready')"
CMD ["falaj", "serve", "--deployment", "{name}", "--host", "0.0.0.0", "--port", "8080", \\
     "--workers", "{workers}"]
"""


@dataclass(frozen=True)
class BuildResult:
    out: Path
    files: tuple[Path, ...]


def _labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "falaj-serving", "app.kubernetes.io/instance": name}


def _secret(env: str, key: str) -> dict[str, Any]:
    return {"name": env, "valueFrom": {"secretKeyRef": {"name": "falaj-store", "key": key}}}


def _container(name: str, image: str, profile: str, workers: int) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/v2/health/ready", "port": 8080}, "periodSeconds": 5}
    return {
        "name": "server",
        "image": image,
        "args": ["serve", "--deployment", name, "--host", "0.0.0.0", "--port", "8080",
                 "--workers", str(workers)],
        "command": ["falaj"],
        "ports": [{"name": "http", "containerPort": 8080}],
        "env": [
            _secret("FALAJ_DB_URL", "db_url"),
            _secret("FALAJ_ARTIFACT_URI", "artifact_uri"),
        ],
        "resources": PROFILES[profile],
        "readinessProbe": {**probe, "initialDelaySeconds": 5, "failureThreshold": 3},
        "livenessProbe": {
            "httpGet": {"path": "/v2/health/live", "port": 8080},
            "periodSeconds": 10,
            "initialDelaySeconds": 10,
        },
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
    }  # fmt: skip


def manifests(
    name: str,
    *,
    image: str,
    replicas: int = 2,
    max_replicas: int = 10,
    workers: int = 1,
) -> dict[str, list[dict[str, Any]]]:
    """The manifests per file name: ``kubernetes-cpu.yaml``, ``kubernetes-gpu.yaml``,
    ``knative.yaml``."""
    check_deployment_name(name)
    labels = _labels(name)
    out: dict[str, list[dict[str, Any]]] = {}
    for profile in PROFILES:
        suffix = "" if profile == "cpu" else "-gpu"
        app = f"{name}{suffix}"
        pod_labels = {**labels, "falaj.dev/profile": profile}
        pod_spec: dict[str, Any] = {
            "containers": [_container(name, image, profile, workers)],
            "terminationGracePeriodSeconds": 30,
        }
        if profile == "gpu":
            pod_spec["tolerations"] = [
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
            ]
        out[f"kubernetes-{profile}.yaml"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": app, "labels": pod_labels},
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": pod_labels},
                    "strategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
                    },
                    "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": app, "labels": pod_labels},
                "spec": {
                    "selector": pod_labels,
                    "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
                },
            },
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": app, "labels": pod_labels},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                    "minReplicas": replicas,
                    "maxReplicas": max(max_replicas, replicas),
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {"type": "Utilization", "averageUtilization": 70},
                            },
                        }
                    ],
                },
            },
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": app, "labels": pod_labels},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": pod_labels}},
            },
        ]
    container = _container(name, image, "cpu", workers)
    container.pop("name")
    container["ports"] = [{"containerPort": 8080}]
    out["knative.yaml"] = [
        {
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "template": {
                    "metadata": {
                        "annotations": {
                            "autoscaling.knative.dev/min-scale": "0",
                            "autoscaling.knative.dev/max-scale": str(max(max_replicas, 1)),
                            "autoscaling.knative.dev/target": "50",
                        }
                    },
                    "spec": {"containers": [container]},
                }
            },
        }
    ]
    return out


def build_bundle(
    name: str,
    out: str | Path,
    *,
    image: str | None = None,
    replicas: int = 2,
    max_replicas: int = 10,
    workers: int = 1,
    project_root: str | Path = ".",
) -> BuildResult:
    """Write the Dockerfile and manifests for deployment ``name`` into ``out``."""
    import yaml

    check_deployment_name(name)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    tag = image or f"falaj-serving-{name}:latest"
    try:
        rel = folder.resolve().relative_to(Path(project_root).resolve()).as_posix()
    except ValueError:
        rel = str(folder.resolve())
    files = [folder / "Dockerfile"]
    files[0].write_text(
        _DOCKERFILE.format(name=name, rel=rel, image=tag, workers=workers), encoding="utf-8"
    )
    for filename, docs in manifests(
        name, image=tag, replicas=replicas, max_replicas=max_replicas, workers=workers
    ).items():
        path = folder / filename
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
        files.append(path)
    return BuildResult(folder, tuple(files))
