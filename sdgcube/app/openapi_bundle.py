"""pygeoapi's OpenAPI document made self-contained: every ``$ref`` to an OGC schema on another host
replaced by a component of the document itself.

pygeoapi names OGC building blocks by URL (``https://schemas.opengis.net/...``); a client, or a
server without internet, cannot resolve them. ``ogc_openapi.yaml`` (package data) holds those
blocks and the local name of each URL. `bundle` runs once per regeneration of the document, not
per request.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import yaml

__all__ = ["bundle", "external_refs"]

LOGGER = logging.getLogger(__name__)
_LOCAL = "#/components/"


@dataclass(frozen=True)
class _Bundle:
    refs: dict[str, str]
    """URL pygeoapi writes → ``#/components/<kind>/<name>``."""
    components: dict[str, dict[str, Any]]
    """Kind (``schemas``, ``responses``, ``parameters``) → name → OGC definition."""


@functools.cache
def _bundled() -> _Bundle:
    text = files("sdgcube.app").joinpath("ogc_openapi.yaml").read_text(encoding="utf-8")
    document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return _Bundle(refs=document["refs"], components=document["components"])


def _ref_holders(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping with a string ``$ref`` under ``node`` (without recursion: schemas nest)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("$ref"), str):
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def external_refs(document: dict[str, Any]) -> set[str]:
    """The ``$ref`` values that do not point into the document itself."""
    return {h["$ref"] for h in _ref_holders(document) if not h["$ref"].startswith("#")}


def bundle(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with each known external ``$ref`` pointing at a component added to it; an
    unknown one (a pygeoapi upgrade, a collection type the demo lacks) is logged and left."""
    table = _bundled()
    needed: list[str] = []
    for holder in _ref_holders(document):
        ref = holder["$ref"]
        if ref.startswith("#"):
            continue
        if ref not in table.refs:
            LOGGER.warning("OpenAPI: no bundled copy of %s; the reference is left as is", ref)
            continue
        holder["$ref"] = table.refs[ref]
        needed.append(table.refs[ref])
    components = document.setdefault("components", {})
    added: set[str] = set()
    while needed:
        ref = needed.pop()
        if ref in added:
            continue
        added.add(ref)
        kind, name = ref.removeprefix(_LOCAL).split("/", 1)
        definition = copy.deepcopy(table.components[kind][name])
        components.setdefault(kind, {})[name] = definition
        needed.extend(h["$ref"] for h in _ref_holders(definition))
    return document
