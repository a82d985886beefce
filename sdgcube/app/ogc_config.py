"""pygeoapi's configuration, generated from the cube: one collection per product and vector layer.

The static parts come from ``ogc_config/pygeoapi.yml``; everything per dataset is derived from the
index here, so nothing is ever hand-edited when a product, a result or a layer is added.
"""

from __future__ import annotations

import copy
import functools
import html
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import yaml

from sdgcube.datacube.catalog import ProductSummary
from sdgcube.datacube.vectors import VectorLayer
from sdgcube.processes.registry import PROCESSES
from sdgcube.processes.services import Services
from sdgcube.settings import ServerMetadata, Settings

__all__ = [
    "BASE_LAYER", "PAGE_TEMPLATES", "TEMPLATE_DIR", "archive_resource", "collection_links",
    "coverage_provider_def", "layer_resource", "metadata_block", "process_resources", "product_resource",
    "pygeoapi_config",
]  # fmt: skip

# Installed with the package (sdgcube/ogc_config links to the top-level ogc_config/ folder).
TEMPLATE_DIR = resources.files("sdgcube") / "ogc_config"
PAGE_TEMPLATES = resources.files("sdgcube") / "app" / "templates"
"""sdgcube's copies of the pygeoapi HTML templates it restyles; pygeoapi falls back to its own for
every other template."""
BASE_LAYER = "sr_annual"
"""The product whose default rendering (true colour) is the base layer of the pages' maps."""
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


def coverage_provider_def(services: Services, summary: ProductSummary) -> dict[str, Any]:
    """The pygeoapi coverage provider definition of a product."""
    return {"type": "coverage", "name": COVERAGE_PROVIDER, "data": summary.name, "services": services,
            "summary": summary, "format": {"name": "GTiff", "mimetype": "image/tiff; application=geotiff"}}  # fmt: skip


def product_resource(services: Services, summary: ProductSummary) -> dict[str, Any]:
    """The collection of a product: coverage and EDR over the cube, links to tiles and maps."""
    settings = services.settings
    bands = ", ".join(b.name for b in summary.bands)
    return {
        "type": "collection",
        "title": summary.name,
        "description": f"{summary.description} Bands: {bands}. {summary.dataset_count} datasets.",
        "keywords": ["raster", "coverage", *(b.name for b in summary.bands)],
        "links": collection_links(settings, summary.name),
        "extents": {"spatial": {"bbox": list(summary.bbox or WORLD), "crs": CRS84}, "temporal": _temporal(summary)},
        "providers": [
            coverage_provider_def(services, summary),
            {"type": "edr", "name": EDR_PROVIDER, "data": summary.name, "services": services, "summary": summary},
        ],
    }  # fmt: skip


def layer_resource(services: Services, layer: VectorLayer) -> dict[str, Any]:
    """The feature collection of a vector layer."""
    return {
        "type": "collection",
        "title": layer.title or layer.name,
        "description": layer.description or f"Vector layer {layer.name} ({layer.feature_count} features)",
        "keywords": ["vector", "features"],
        "links": [],
        "extents": {"spatial": {"bbox": list(layer.bbox), "crs": CRS84}},
        "providers": [
            {"type": "feature", "name": FEATURE_PROVIDER, "data": layer.name, "id_field": "id",
             "store": services.vectors}
        ],
    }  # fmt: skip


def archive_resource(settings: Settings, products: list[ProductSummary]) -> dict[str, Any]:
    """The STAC browser over the archive folder."""
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


def process_resources(services: Services) -> dict[str, Any]:
    """Every process; its processor gets the server's services with its definition."""
    return {
        process_id: {"type": "process", "processor": {"name": processor, "services": services}}
        for process_id, processor in PROCESSES.items()
    }


def metadata_block(metadata: ServerMetadata) -> dict[str, Any]:
    """pygeoapi's ``metadata`` section (landing page, OpenAPI info, page headers) from the settings."""
    m = metadata
    return {
        "identification": {"title": m.title, "description": m.description, "keywords": list(m.keywords),
                           "keywords_type": "theme", "terms_of_service": m.terms_of_service, "url": m.url},
        "license": {"name": m.license_name, "url": m.license_url},
        "provider": {"name": m.provider_name, "url": m.provider_url},
        "contact": {"name": m.contact_name, "position": m.contact_position, "address": m.contact_address,
                    "city": m.contact_city, "stateorprovince": "", "postalcode": "", "country": m.contact_country,
                    "phone": m.contact_phone, "fax": "", "email": m.contact_email, "url": m.contact_url,
                    "hours": "", "instructions": "", "role": "pointOfContact"},
    }  # fmt: skip


def _page_map(settings: Settings) -> dict[str, str]:
    # The pages' Leaflet maps draw on this server's own tiles, never on a tile server on the internet.
    tiles = f"{settings.base_url}/tiles/collections/{BASE_LAYER}/tiles/WebMercatorQuad"
    return {
        "url": tiles + "/{z}/{x}/{y}.png",
        "attribution": html.escape(f"{settings.metadata.title} ({BASE_LAYER})"),
    }


def pygeoapi_config(services: Services) -> dict[str, Any]:
    """pygeoapi's configuration without collections (the publisher adds and replaces those)."""
    settings = services.settings
    config = copy.deepcopy(_template())
    server = config["server"]
    server["url"] = settings.base_url
    server["bind"] = {"host": settings.host, "port": settings.port}
    server["manager"]["services"] = services
    server["manager"]["output_dir"] = str(settings.data_dir / "jobs")
    server["map"] = _page_map(settings)
    server["templates"] = {"path": str(PAGE_TEMPLATES)}
    config["metadata"] = metadata_block(settings.metadata)
    config["resources"] = process_resources(services)
    return config
