"""Checks of deploy/kubernetes without a cluster: render, schemas, and how the objects refer to each
other.

Rendering is `kubectl kustomize` (kustomize built into kubectl), the very command
`kubectl apply -k` runs. Built-in kinds are validated offline against the Kubernetes OpenAPI
schemas that the `kubernetes-validate` package ships, strictly (unknown fields are errors). The
Dask operator's DaskCluster has no schema there: its CRD preserves unknown fields and the operator
reads the structure of its `templates.yaml` (dask-kubernetes, `dask_kubernetes/operator/
customresources`): `spec.scheduler` with a PodSpec `spec` and a ServiceSpec `service`, `spec.worker`
with a PodSpec `spec` and integer `replicas`. That structure is checked here, and each PodSpec and
ServiceSpec against Kubernetes' own schema. Each check returns its findings as sentences.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import yaml

__all__ = [
    "DASK_CLUSTER_SCHEMA",
    "containers",
    "find",
    "kubectl",
    "reference_findings",
    "render",
    "schema_findings",
]

Obj = dict[str, Any]

DASK_CLUSTER_SCHEMA: Obj = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kubernetes.dask.org/v1"},
        "kind": {"const": "DaskCluster"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["scheduler", "worker"],
            "properties": {
                "idleTimeout": {"type": "integer"},
                "scheduler": {
                    "type": "object",
                    "required": ["spec", "service"],
                    "properties": {"spec": {"type": "object"}, "service": {"type": "object"}},
                },
                "worker": {
                    "type": "object",
                    "required": ["spec"],
                    "properties": {
                        "replicas": {"type": "integer", "minimum": 0},
                        "spec": {"type": "object"},
                    },
                },
            },
        },
    },
}
"""The operator's DaskCluster v1 structure (templates.yaml), the PodSpec/ServiceSpec left to k8s."""


def kubectl() -> str | None:
    return shutil.which("kubectl")


def render(directory: Path) -> list[Obj]:
    """The objects `kubectl apply -k DIRECTORY` would apply."""
    binary = kubectl()
    if binary is None:
        raise FileNotFoundError("kubectl")
    done = subprocess.run(
        [binary, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {directory}: {done.stderr.strip()[:2000]}")
    return [obj for obj in yaml.safe_load_all(done.stdout) if obj]


def _name(obj: Obj) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def _k8s_findings(obj: Obj, version: str, label: str) -> list[str]:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = "/".join(map(str, exc.absolute_path)) or "(top)"
        return [f"{label}: {where}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"{label}: no schema ({exc})"]
    return []


def _dask_cluster_findings(obj: Obj, version: str) -> list[str]:
    label = _name(obj)
    errors = jsonschema.Draft202012Validator(DASK_CLUSTER_SCHEMA).iter_errors(obj)
    findings = [f"{label}: {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    if findings:
        return findings
    spec, meta = obj["spec"], {"name": obj["metadata"]["name"]}
    parts = {
        "scheduler.spec": {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec["scheduler"]["spec"]},
        "scheduler.service": {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec["scheduler"]["service"]},
        "worker.spec": {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec["worker"]["spec"]},
    }  # fmt: skip
    for part, wrapped in parts.items():
        findings += _k8s_findings(wrapped, version, f"{label} {part}")
    return findings


def schema_findings(objects: list[Obj], version: str) -> list[str]:
    """Every object that the Kubernetes API of that version (or the Dask operator) would reject."""
    findings = []
    for obj in objects:
        if obj.get("kind") == "DaskCluster":
            findings += _dask_cluster_findings(obj, version)
        else:
            findings += _k8s_findings(obj, version, _name(obj))
    return findings


def find(objects: list[Obj], kind: str, name: str | None = None) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"])]


def pod_specs(objects: list[Obj]) -> Iterator[tuple[str, Obj]]:
    """(label, PodSpec) of every workload, the DaskCluster's scheduler and workers included."""
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield _name(obj), obj["spec"]["template"]["spec"]
        elif obj["kind"] == "DaskCluster":
            for role in ("scheduler", "worker"):
                yield f"{_name(obj)} {role}", obj["spec"][role]["spec"]


def containers(objects: list[Obj]) -> Iterator[tuple[str, Obj, Obj]]:
    """(label, container, PodSpec) of every container."""
    for label, spec in pod_specs(objects):
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield f"{label} {container['name']}", container, spec


def _names(objects: list[Obj], kind: str) -> set[str]:
    return {o["metadata"]["name"] for o in objects if o["kind"] == kind}


def _missing_references(objects: list[Obj]) -> Iterator[str]:
    configmaps, secrets = _names(objects, "ConfigMap"), _names(objects, "Secret")
    claims = _names(objects, "PersistentVolumeClaim")
    for label, container, spec in containers(objects):
        for source in container.get("envFrom", []):
            if "configMapRef" in source and source["configMapRef"]["name"] not in configmaps:
                yield f"{label}: no ConfigMap {source['configMapRef']['name']}"
            if "secretRef" in source and source["secretRef"]["name"] not in secrets:
                yield f"{label}: no Secret {source['secretRef']['name']}"
        for volume in spec.get("volumes", []):
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            if claim is not None and claim not in claims:
                yield f"{label}: no PersistentVolumeClaim {claim}"


def _selected(objects: list[Obj], selector: dict[str, str]) -> bool:
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet"):
            labels = obj["spec"]["template"]["metadata"].get("labels", {})
            if selector.items() <= labels.items():
                return True
    return False


def _routing_findings(objects: list[Obj]) -> Iterator[str]:
    services = {o["metadata"]["name"]: o for o in find(objects, "Service")}
    for service in services.values():
        if not _selected(objects, service["spec"].get("selector", {})):
            yield f"{_name(service)}: its selector matches no workload's pods"
    for ingress in find(objects, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                ports = {
                    p.get("name")
                    for p in services.get(backend["name"], {"spec": {"ports": []}})["spec"]["ports"]
                }
                if backend["name"] not in services or backend["port"].get("name") not in ports:
                    yield f"{_name(ingress)}: no Service port {backend}"
    deployments = _names(objects, "Deployment")
    for hpa in find(objects, "HorizontalPodAutoscaler"):
        if hpa["spec"]["scaleTargetRef"]["name"] not in deployments:
            yield f"{_name(hpa)}: scales no Deployment of this render"


def _environment(objects: list[Obj], container: Obj) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in source:
                for obj in find(objects, kind, source[key]["name"]):
                    env.update(obj.get("data", {}) | obj.get("stringData", {}))
    env.update({item["name"]: item.get("value", "") for item in container.get("env", [])})
    return env


def _mounted_claim(container: Obj, spec: Obj, path: str) -> str | None:
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        if mount["mountPath"] == path:
            return volumes.get(mount["name"], {}).get("persistentVolumeClaim", {}).get("claimName")
    return None


def _sdgcube_findings(objects: list[Obj]) -> Iterator[str]:
    """Server and Dask workers: the same claim at the data dir, the scheduler they are told of."""
    clusters = find(objects, "DaskCluster")
    claims: dict[str, str | None] = {}
    for label, container, spec in containers(objects):
        if not container["image"].split("/")[-1].startswith("sdgcube") or "scheduler" in label:
            continue
        env = _environment(objects, container)
        claims[label] = _mounted_claim(container, spec, env.get("SDGCUBE_DATA_DIR", "?"))
        expected = {f"tcp://{c['metadata']['name']}-scheduler:8786" for c in clusters}
        if env.get("SDGCUBE_DASK_ADDRESS") not in expected:
            yield f"{label}: SDGCUBE_DASK_ADDRESS {env.get('SDGCUBE_DASK_ADDRESS')} is no DaskCluster's scheduler"
    if len(set(claims.values())) != 1 or None in claims.values():
        yield f"server and workers do not mount one claim at the data dir: {claims}"
    for claim in find(objects, "PersistentVolumeClaim"):
        if (
            claim["metadata"]["name"] in claims.values()
            and "ReadWriteMany" not in claim["spec"]["accessModes"]
        ):
            yield f"{_name(claim)}: shared by several pods but not ReadWriteMany"


def _db_findings(objects: list[Obj]) -> Iterator[str]:
    for secret in find(objects, "Secret", "sdgcube"):
        host = urlsplit(secret.get("stringData", {}).get("SDGCUBE_DB_URL", "")).hostname or ""
        in_cluster = host.split(".")[0] in _names(objects, "Service")
        if not in_cluster and "." not in host:
            yield f"{_name(secret)}: SDGCUBE_DB_URL host {host!r} is neither a Service here nor external"


def reference_findings(objects: list[Obj]) -> list[str]:
    """Objects that name others which the render does not have, or that would not reach each other."""
    return [
        *_missing_references(objects),
        *_routing_findings(objects),
        *_sdgcube_findings(objects),
        *_db_findings(objects),
    ]
