"""The OpenAPI document made self-contained: each OGC URL pygeoapi writes becomes a component."""

from __future__ import annotations

import copy
import logging

import pytest
from referencing.exceptions import Unresolvable

from sdgcube.app.openapi_bundle import _bundled, bundle, external_refs
from tests.openapi_checks import assert_self_contained

OAPIF = "https://schemas.opengis.net/ogcapi/features/part1/1.0/openapi/ogcapi-features-1.yaml"


def _document(refs: list[str]) -> dict:
    """A minimal OpenAPI 3.0 document using each of ``refs`` where its kind belongs."""
    by_kind: dict[str, list[str]] = {"responses": [], "parameters": [], "schemas": []}
    table = _bundled().refs
    for ref in refs:
        by_kind[table[ref].split("/")[2]].append(ref)
    responses = {str(200 + i): {"$ref": r} for i, r in enumerate(by_kind["responses"])}
    body = {
        "content": {
            "application/json": {"schema": {"oneOf": [{"$ref": r} for r in by_kind["schemas"]]}}
        }
    }
    operation = {"parameters": [{"$ref": r} for r in by_kind["parameters"]], "requestBody": body,
                 "responses": responses or {"200": {"description": "ok"}}}  # fmt: skip
    return {"openapi": "3.0.2", "info": {"title": "t", "version": "1"},
            "paths": {"/x": {"post": operation}}, "components": {"schemas": {"own": {"type": "string"}}}}  # fmt: skip


def test_every_bundled_url_becomes_a_resolvable_component() -> None:
    document = bundle(_document(list(_bundled().refs)))
    assert_self_contained(document)
    assert document["components"]["schemas"]["own"] == {"type": "string"}


def test_only_what_is_used_is_added() -> None:
    document = bundle(_document([f"{OAPIF}#/components/responses/NotFound"]))
    assert_self_contained(document)
    assert set(document["components"]) == {"schemas", "responses"}
    assert set(document["components"]["responses"]) == {"oapif-NotFound"}
    assert set(document["components"]["schemas"]) == {"own"}  # NotFound has no content schema


def test_a_component_brings_what_it_references() -> None:
    document = bundle(_document([f"{OAPIF}#/components/responses/Features"]))
    assert_self_contained(document)
    schemas = document["components"]["schemas"]
    assert {"oapif-featureCollectionGeoJSON", "oapif-featureGeoJSON", "oapif-link",
            "oapif-polygonGeoJSON"} <= set(schemas)  # fmt: skip


def test_the_check_fails_on_a_dangling_local_ref() -> None:
    document = bundle(_document([f"{OAPIF}#/components/responses/Features"]))
    del document["components"]["schemas"]["oapif-link"]
    with pytest.raises(Unresolvable):
        assert_self_contained(document)


def test_an_unknown_url_is_left_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    document = _document([])
    unknown = "https://schemas.opengis.net/ogcapi/unknown.yaml"
    document["paths"]["/x"]["post"]["responses"]["404"] = {"$ref": unknown}
    with caplog.at_level(logging.WARNING, logger="sdgcube.app.openapi_bundle"):
        bundled = bundle(copy.deepcopy(document))
    assert external_refs(bundled) == {unknown}
    assert unknown in caplog.text
