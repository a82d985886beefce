"""pygeoapi's configuration, generated from the cube: one collection per product and vector layer.

The static parts come from ``ogc_config/pygeoapi.yml``; everything per dataset is derived from the
index here, so nothing is ever hand-edited when a product, a result or a layer is added.
"""

from __future__ import annotations

import copy
import functools
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import yaml

from sdgcube.datacube.catalog import ProductSummary
from sdgcube.datacube.vectors import VectorLayer
from sdgcube.processes.registry import PROCESSES
from sdgcube.settings import Settings

__all__ = ["TEMPLATE_DIR", "collection_links", "coverage_provider_def", "pygeoapi_config"]

# Installed with the package (sdgcube/ogc_config links to the top-level ogc_config/ folder).
TEMPLATE_DIR = resources.files("sdgcube") / "ogc_config"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
COVERAGE_PROVIDER = "sdgcube.app.providers.coverage.CubeCoverageProvider"
EDR_PROVIDER = "sdgcube.app.providers.edr.CubeEDRProvider"
FEATURE_PROVIDER = "sdgcube.app.providers.features.CubeFeatureProvider"
WORLD = [-180.0, -90.0, 180.0, 90.0]


@functools.cache
def _template() -> dict[str, Any]:
    return yaml.safe_load((TEMPLATE_DIR / "pygeoapi.yml").read_text())


def collection_links(settings: Settings, name: str) -> list[dict[str, str]]:
    """Links from a collection to its coverage description, tiles and map layers."""
    base = settings.base_url
    tiles = f"{base}/tiles/collections/{name}"
    coverage = f"{base}/collections/{name}/coverage"
    return [
        {"type": "application/json", "rel": "http://www.opengis.net/def/rel/ogc/1.0/coverage-domainset",
         "title": "Coverage domain set", "href": f"{coverage}/domainset"},
        {"type": "application/json", "rel": "http://www.opengis.net/def/rel/ogc/1.0/coverage-rangetype",
         "title": "Coverage range type", "href": f"{coverage}/rangetype"},
        {"type": "application/json", "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map",
         "title": "Map tilesets (TiTiler)", "href": f"{tiles}/tiles"},
        {"type": "application/json", "rel": "describedby", "title": "TileJSON (WebMercatorQuad)",
         "href": f"{tiles}/WebMercatorQuad/tilejson.json"},
        {"type": "image/png", "rel": "item", "title": "XYZ tiles (PNG)",
         "href": f"{tiles}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png"},
        {"type": "application/xml", "rel": "alternate", "title": "WMTS capabilities (TiTiler)",
         "href": f"{tiles}/WMTSCapabilities.xml"},
        {"type": "application/xml", "rel": "alternate", "title": f"WMS layer {name} (MapProxy)",
         "href": f"{base}/mapproxy/service?SERVICE=WMS&REQUEST=GetCapabilities"},
    ]  # fmt: skip


def _temporal(summary: ProductSummary) -> dict[str, Any]:
    if not summary.times:
        return {}
    # pygeoapi compares request times with these, so they are tz-aware datetimes, not strings.
    return {"begin": _utc(summary.times[0]), "end": _utc(summary.times[-1]),
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}  # fmt: skip


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def coverage_provider_def(settings: Settings, product: str) -> dict[str, Any]:
    """The pygeoapi coverage provider definition of a product."""
    return {"type": "coverage", "name": COVERAGE_PROVIDER, "data": product, "data_dir": str(settings.data_dir),
            "format": {"name": "GTiff", "mimetype": "image/tiff; application=geotiff"}}  # fmt: skip


def _product_resource(settings: Settings, summary: ProductSummary) -> dict[str, Any]:
    provider = {"data": summary.name, "data_dir": str(settings.data_dir)}
    bands = ", ".join(b.name for b in summary.bands)
    return {
        "type": "collection",
        "title": summary.name,
        "description": f"{summary.description} Bands: {bands}. {summary.dataset_count} datasets.",
        "keywords": ["raster", "coverage", *(b.name for b in summary.bands)],
        "links": collection_links(settings, summary.name),
        "extents": {"spatial": {"bbox": list(summary.bbox or WORLD), "crs": CRS84}, "temporal": _temporal(summary)},
        "providers": [
            coverage_provider_def(settings, summary.name),
            {"type": "edr", "name": EDR_PROVIDER, **provider},
        ],
    }  # fmt: skip


def _layer_resource(settings: Settings, layer: VectorLayer) -> dict[str, Any]:
    return {
        "type": "collection",
        "title": layer.title or layer.name,
        "description": layer.description or f"Vector layer {layer.name} ({layer.feature_count} features)",
        "keywords": ["vector", "features"],
        "links": [],
        "extents": {"spatial": {"bbox": list(layer.bbox), "crs": CRS84}},
        "providers": [
            {"type": "feature", "name": FEATURE_PROVIDER, "data": layer.name, "id_field": "id",
             "data_dir": str(settings.data_dir)}
        ],
    }  # fmt: skip


def _archive_resource(settings: Settings, products: list[ProductSummary]) -> dict[str, Any]:
    boxes = [p.bbox for p in products if p.bbox]
    bbox = (
        [
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        ]
        if boxes
        else WORLD
    )
    return {
        "type": "stac-collection",
        "title": "STAC catalog of the archive",
        "description": "Every dataset of the cube as a STAC item (browse it at /stac).",
        "keywords": ["STAC", "catalog"],
        "links": [],
        "extents": {"spatial": {"bbox": bbox, "crs": CRS84}},
        "providers": [{"type": "stac", "name": "FileSystem", "data": str(settings.archive_dir), "file_types": [".json"]}],
    }  # fmt: skip


def pygeoapi_config(
    settings: Settings, products: list[ProductSummary], layers: list[VectorLayer]
) -> dict[str, Any]:
    """The whole pygeoapi configuration for this cube."""
    config = copy.deepcopy(_template())
    server = config["server"]
    server["url"] = settings.base_url
    server["bind"] = {"host": settings.host, "port": settings.port}
    server["manager"]["connection"] = str(settings.data_dir)
    server["manager"]["output_dir"] = str(settings.data_dir / "jobs")
    resources: dict[str, Any] = {}
    for summary in products:
        resources[summary.name] = _product_resource(settings, summary)
    for layer in layers:
        if layer.name in resources:
            continue
        resources[layer.name] = _layer_resource(settings, layer)
    if settings.archive_dir.exists():
        resources["archive"] = _archive_resource(settings, products)
    for process_id, processor in PROCESSES.items():
        resources[process_id] = {"type": "process", "processor": {"name": processor}}
    config["resources"] = resources
    return config
