"""deploy/: the Dockerfile, compose.yaml and the Kubernetes base and overlay, checked offline.

Kubernetes manifests are rendered by `kubectl kustomize` (skipped where kubectl is missing) and
validated against the Kubernetes schemas of `kubernetes-validate`; compose.yaml against the Compose
Specification's schema. Every check is also run on a copy broken on purpose, and must name the
fault: a check that finds nothing in a broken file would pass anything.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy import compose_checks as compose
from tests.deploy import k8s_checks as k8s
from tests.deploy.commands import argv_findings, dockerfile_instructions, exec_form

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUSTOMIZATIONS = {"base": "kubernetes/base", "production": "kubernetes/overlays/production"}
# The oldest Kubernetes still in wide use, and the newest the package has schemas for.
VERSIONS = ["1.29", kubernetes_validate.latest_version()]
IMAGE = "registry.example.org/sdgcube:0.1.0"

needs_kubectl = pytest.mark.skipif(
    k8s.kubectl() is None, reason="kubectl (kustomize) not installed"
)


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {name: k8s.render(DEPLOY / path) for name, path in KUSTOMIZATIONS.items()}


def _dockerfile() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for word, arguments in dockerfile_instructions(DEPLOY / "Dockerfile"):
        found.setdefault(word, []).append(arguments)
    return found


def _image_argv(command: list[str] | None, args: list[str] | None) -> list[str]:
    """What a container of the image runs: Kubernetes' command/args or Compose's entrypoint/command
    replace the image's ENTRYPOINT/CMD (a new entrypoint drops the image's CMD)."""
    dockerfile = _dockerfile()
    entrypoint = exec_form(dockerfile["ENTRYPOINT"][-1])
    default = exec_form(dockerfile["CMD"][-1])
    if command is not None:
        return command + (args or [])
    return entrypoint + (default if args is None else args)


# --- Kubernetes ------------------------------------------------------------------------------------


@needs_kubectl
@pytest.mark.parametrize("name", KUSTOMIZATIONS)
@pytest.mark.parametrize("version", VERSIONS)
def test_every_rendered_object_passes_its_schema(rendered, name, version):
    objects = rendered[name]
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "HorizontalPodAutoscaler", "Service", "Ingress", "DaskCluster"} <= kinds
    assert k8s.schema_findings(objects, version) == []


@needs_kubectl
def test_schema_check_names_a_broken_object(rendered):
    objects = copy.deepcopy(rendered["base"])
    [deployment] = k8s.find(objects, "Deployment", "sdgcube-server")
    deployment["spec"]["replicas"] = "two"
    [postgis] = k8s.find(objects, "StatefulSet")
    postgis["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    findings = k8s.schema_findings(objects, VERSIONS[0])
    # One finding per object (its first error), each naming the object and the field.
    assert len(findings) == 2, findings
    assert findings[0].startswith("Deployment/sdgcube-server: spec/replicas: 'two' is not of type")
    assert findings[1].startswith("StatefulSet/sdgcube-postgis: spec/template/spec/containers/0:")
    assert "'imagePullPolice' was unexpected" in findings[1]  # strict: unknown fields are errors


@needs_kubectl
def test_dask_cluster_check_follows_the_operator_structure(rendered):
    objects = copy.deepcopy(rendered["base"])
    [cluster] = k8s.find(objects, "DaskCluster")
    assert k8s.schema_findings([cluster], VERSIONS[0]) == []
    del cluster["spec"]["scheduler"]["service"]
    assert k8s.schema_findings([cluster], VERSIONS[0]) == [
        "DaskCluster/sdgcube-dask: spec/scheduler: 'service' is a required property"
    ]
    cluster = copy.deepcopy(k8s.find(rendered["base"], "DaskCluster")[0])
    cluster["spec"]["worker"]["spec"]["containers"][0]["command"] = "dask worker"
    [finding] = k8s.schema_findings([cluster], VERSIONS[0])
    assert finding.startswith("DaskCluster/sdgcube-dask worker.spec: spec/containers/0/command:")


@needs_kubectl
@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_objects_reach_each_other(rendered, name):
    assert k8s.reference_findings(rendered[name]) == []


@needs_kubectl
@pytest.mark.parametrize(
    ("fault", "finding"),
    [
        (lambda o: _worker(o)["spec"]["volumes"][0]["persistentVolumeClaim"].update(claimName="other"),
         "no PersistentVolumeClaim other"),
        (lambda o: _worker(o)["spec"].update(volumes=[{"name": "data", "emptyDir": {}}]),
         "server and workers do not mount one claim at the data dir"),
        (lambda o: k8s.find(o, "Secret", "sdgcube")[0]["stringData"].update(SDGCUBE_DB_URL="postgresql://u:p@db/x"),
         "SDGCUBE_DB_URL host 'db' is neither a Service here nor external"),
        (lambda o: k8s.find(o, "ConfigMap", "sdgcube")[0]["data"].update(SDGCUBE_DASK_ADDRESS="tcp://dask:8786"),
         "SDGCUBE_DASK_ADDRESS tcp://dask:8786 is no DaskCluster's scheduler"),
        (lambda o: k8s.find(o, "Service", "sdgcube-server")[0]["spec"]["selector"].update(app="x"),
         "Service/sdgcube-server: its selector matches no workload's pods"),
        (lambda o: k8s.find(o, "PersistentVolumeClaim")[0]["spec"].update(accessModes=["ReadWriteOnce"]),
         "shared by several pods but not ReadWriteMany"),
    ],
)  # fmt: skip
def test_reference_check_names_what_does_not_connect(rendered, fault, finding):
    objects = copy.deepcopy(rendered["base"])
    fault(objects)
    findings = k8s.reference_findings(objects)
    assert any(finding in f for f in findings), findings


def _worker(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return k8s.find(objects, "DaskCluster")[0]["spec"]["worker"]


@needs_kubectl
@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_configuration_is_sdgcube_settings_only(rendered, name):
    for obj in k8s.find(rendered[name], "ConfigMap") + k8s.find(rendered[name], "Secret"):
        if obj["metadata"]["name"] == "sdgcube":
            keys = {**obj.get("data", {}), **obj.get("stringData", {})}
            assert keys and all(compose.known_setting(key) for key in keys), keys
    assert not compose.known_setting("SDGCUBE_BASE_URL")  # a property of Settings, not a variable


@needs_kubectl
@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_every_container_command_parses(rendered, name):
    argvs = {
        label: _image_argv(container.get("command"), container.get("args"))
        for label, container, _ in k8s.containers(rendered[name])
        if "sdgcube" in container["image"]
    }
    assert len(argvs) == 3, argvs  # server, scheduler, worker
    for label, argv in argvs.items():
        assert argv_findings(argv) == [], label
    server = argvs["Deployment/sdgcube-server server"]
    assert server[:2] == ["sdgcube", "serve"] and "0.0.0.0" in server


@needs_kubectl
def test_server_probes_a_cheap_route_on_its_port(rendered):
    [deployment] = k8s.find(rendered["base"], "Deployment", "sdgcube-server")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    ports = {port["name"] for port in container["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/conformance", "port": "http"}
    assert ports == {"http"} and container["ports"][0]["containerPort"] == 5000
    assert 'Route("/conformance"' in (ROOT / "sdgcube/app/pygeoapi_host.py").read_text()


@needs_kubectl
def test_production_uses_an_external_database_and_the_released_image(rendered):
    objects = rendered["production"]
    assert not [o for o in objects if "postgis" in o["metadata"]["name"]]
    assert k8s.find(objects, "StatefulSet") == []
    [secret] = k8s.find(objects, "Secret", "sdgcube")
    assert "@postgis.db.example.org:5432/" in secret["stringData"]["SDGCUBE_DB_URL"]
    images = {c["image"] for _, c, _ in k8s.containers(objects)}
    assert images == {IMAGE}
    assert all(
        o["metadata"].get("namespace") == "sdgcube" for o in objects if o["kind"] != "Namespace"
    )
    assert _worker(objects)["replicas"] == 8
    [hpa] = k8s.find(objects, "HorizontalPodAutoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    # The base keeps its in-cluster database, so both renders are complete installations.
    assert k8s.find(rendered["base"], "StatefulSet", "sdgcube-postgis")


# --- Compose ---------------------------------------------------------------------------------------


@pytest.fixture
def document() -> dict[str, Any]:
    return compose.load_compose(DEPLOY / "compose.yaml")


def test_compose_file_passes_the_compose_specification(document):
    assert compose.schema_findings(document) == []
    assert set(document["services"]) == {"db", "scheduler", "worker", "server"}
    assert document["services"]["db"]["image"] == "postgis/postgis:15-3.4"
    assert document["services"]["worker"]["deploy"]["replicas"] == 2
    more = compose.load_compose(DEPLOY / "compose.yaml", {"SDGCUBE_DASK_WORKERS": "6"})
    assert more["services"]["worker"]["deploy"]["replicas"] == 6


def test_compose_schema_check_names_a_broken_service(document):
    document["services"]["worker"]["deploy"]["replicas"] = "many"
    document["services"]["server"]["depends_on"]["db"]["condition"] = "service_healty"
    findings = compose.schema_findings(document)
    assert any(f.startswith("services/worker/deploy/replicas: 'many'") for f in findings), findings
    assert any(f.startswith("services/server/depends_on") for f in findings), findings


def test_compose_wiring_is_sound(document):
    assert compose.environment_findings(document) == []
    assert compose.volume_findings(document) == []
    assert compose.wiring_findings(document) == []


@pytest.mark.parametrize(
    ("fault", "check", "finding"),
    [
        (lambda s: s["server"]["environment"].update(SDGCUBE_BASE_URL="http://x"), "environment",
         "server: SDGCUBE_BASE_URL is no sdgcube setting"),
        (lambda s: s["worker"]["environment"].update(DATACUBE_DB_URL="postgresql:///x"), "environment",
         "worker: DATACUBE_DB_URL is not an SDGCUBE_* setting"),
        (lambda s: s["worker"].update(volumes=["results:/data"]), "volume",
         "worker: no named volume mounted at its data dir /data"),
        (lambda s: s["worker"].update(command=["worker", "tcp://sched:8786"]), "wiring",
         "worker: scheduler address tcp://sched:8786 names no `dask scheduler` service"),
        (lambda s: s["server"]["environment"].update(SDGCUBE_DASK_ADDRESS="tcp://localhost:8786"), "wiring",
         "server: SDGCUBE_DASK_ADDRESS is not the workers' tcp://scheduler:8786"),
        (lambda s: s["server"]["depends_on"].pop("db"), "wiring",
         "server: does not wait for the database to be healthy"),
    ],
)  # fmt: skip
def test_compose_checks_name_the_fault(document, fault, check, finding):
    # The YAML anchor made the services share one environment dict (a deep copy of them all would
    # keep it shared): give each its own, so that a fault planted in one stays there.
    services = {name: copy.deepcopy(service) for name, service in document["services"].items()}
    fault(services)
    findings = getattr(compose, f"{check}_findings")({**document, "services": services})
    assert any(finding in f for f in findings), findings


def test_compose_commands_parse(document):
    for name in compose.SDGCUBE_IMAGE_SERVICES:
        service = document["services"][name]
        entrypoint = service.get("entrypoint")
        argv = _image_argv(entrypoint, service.get("command"))
        assert argv_findings(argv) == [], name
    server = document["services"]["server"]
    broken = _image_argv(None, [*server["command"][:-2], "--worker", "2"])
    assert argv_findings(broken) == [
        (
            "sdgcube serve --host 0.0.0.0 --port 5000 --worker 2: No such option: --worker "
            "(Possible options: --dask-workers, --workers)"
        )
    ]


# --- The image -------------------------------------------------------------------------------------


def test_dockerfile_builds_the_one_image():
    found = _dockerfile()
    assert found["ARG"][0] == "PYTHON_IMAGE=python:3.12-slim-bookworm"
    assert 'SDGCUBE_EXTRAS=""' in found["ARG"]  # the ml extra (torch) off unless asked for
    assert any(
        'pip install "/src${SDGCUBE_EXTRAS:+[${SDGCUBE_EXTRAS}]}"' in r for r in found["RUN"]
    )
    assert found["USER"] == ["10001:10001"]  # numeric: runAsNonRoot can verify it
    assert any("SDGCUBE_DATA_DIR=/data" in env for env in found["ENV"])
    assert found["EXPOSE"] == ["5000"]
    assert exec_form(found["ENTRYPOINT"][0]) == ["sdgcube"]
    assert argv_findings(_image_argv(None, None)) == []
    assert exec_form(found["CMD"][0]) == ["serve", "--host", "0.0.0.0"]
    assert not any("gdal" in r.lower() for r in found["RUN"])


def test_dockerignore_keeps_out_the_local_state_and_in_the_package():
    ignored = {
        line for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    }  # fmt: skip
    assert {".git", ".venv", ".pytest_cache", "**/__pycache__", "tests"} <= ignored
    assert not ignored & {"pyproject.toml", "README.md", "sdgcube", "ogc_config", "."}


def test_compose_builds_the_image_of_the_dockerfile():
    raw = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for name in compose.SDGCUBE_IMAGE_SERVICES:
        build = raw["services"][name]["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
