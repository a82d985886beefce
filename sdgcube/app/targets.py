"""What a request asks for, as the access policy sees it: its route family and the collections or
process it names. Every route family of the server is named here, in one place, so that tiles, maps,
coverages, EDR, features, STAC and the job routes are held to the same policy."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from sdgcube.auth.policy import Family

__all__ = ["OPEN_FAMILIES", "Target", "classify"]

OPEN_FAMILIES: frozenset[Family] = frozenset({"meta"})
"""Reachable by every caller, credentials or not: the landing page, the API documents, sign-in."""

_EDR = "position|area|cube|radius|trajectory|corridor|locations"
_COLLECTION = re.compile(r"^/collections/([^/]+)(?:/(.*))?$")
_TILES = re.compile(r"^/tiles/collections/([^/]+)")
_WMTS_LAYER = re.compile(r"^/mapproxy/(?:wmts|tiles)/(?:1\.0\.0/)?([^/]+)/")
_STAC_ITEM = re.compile(r"^/stac/archive/([^/]+)")
_EXECUTION = re.compile(r"^/processes/([^/]+)/execution$")
_MAP_LAYER_PARAMS = ("layers", "layer", "query_layers")
_META = re.compile(r"^/(?:|openapi|conformance|limits|favicon\.ico|static/.*|auth/.*|app|app/.*)$")


@dataclass(frozen=True)
class Target:
    family: Family
    collections: tuple[str, ...] = ()
    process: str | None = None


def _collection_family(rest: str | None) -> Family:
    head = (rest or "").split("/", 1)[0]
    if head == "coverage":
        return "coverages"
    if head == "items":
        return "features"
    if re.fullmatch(_EDR, head):
        return "edr"
    return "collections"


def _map_layers(path: str, query: str) -> tuple[str, ...]:
    found = _WMTS_LAYER.match(path)
    if found:
        return (found.group(1),)
    params = {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}
    names = (params.get(name, "") for name in _MAP_LAYER_PARAMS)
    return tuple(dict.fromkeys(n for value in names for n in value.split(",") if n))


def classify(path: str, query: str = "") -> Target:
    """The family of a request path (below the server root) and what it names."""
    path = unquote(path)
    if _META.match(path):
        return Target("meta")
    if path.startswith("/tiles"):
        found = _TILES.match(path)
        return Target("tiles", (found.group(1),) if found else ())
    if path.startswith("/mapproxy"):
        return Target("maps", _map_layers(path, query))
    if path.startswith("/stac"):
        found = _STAC_ITEM.match(path)
        return Target("stac", (found.group(1),) if found else ())
    found = _COLLECTION.match(path)
    if found:
        return Target(_collection_family(found.group(2)), (found.group(1),))
    found = _EXECUTION.match(path)
    if found:
        return Target("execution", process=found.group(1))
    if path.startswith("/processes"):
        return Target("processes")
    if path.startswith("/jobs"):
        return Target("jobs")
    if path == "/audit":
        return Target("admin")
    return Target("collections")
