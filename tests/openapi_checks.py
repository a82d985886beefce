"""What a self-contained OpenAPI 3.0 document is, checked with real resolvers and validators."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from pygeoapi.openapi import SCHEMASDIR
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from sdgcube.app.openapi_bundle import external_refs

_URI = "urn:sdgcube:openapi"


def local_refs(document: Any) -> list[str]:
    found: list[str] = []
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("$ref"), str):
                found.append(item["$ref"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def assert_self_contained(document: dict[str, Any]) -> None:
    """No ``$ref`` leaves the document; each one resolves (``referencing``, as ``jsonschema``
    does); the document is valid OpenAPI 3.0 (the schema pygeoapi ships for it)."""
    assert external_refs(document) == set()
    resource = Resource.from_contents(document, default_specification=DRAFT4)
    resolver = Registry().with_resource(_URI, resource).resolver(_URI)
    for ref in local_refs(document):
        assert ref.startswith("#/"), ref
        assert resolver.lookup(_URI + ref).contents is not None, ref
    schema = json.loads((SCHEMASDIR / "openapi" / "openapi-3.0.x.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
