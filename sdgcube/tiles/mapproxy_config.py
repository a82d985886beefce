"""MapProxy's configuration, generated from the cube: a WMS/WMTS/TMS layer per collection.

Each layer is sourced from sdgcube's own map renderer (``/tiles/collections/{id}/wms``, a WMS
GetMap endpoint over the same reader as the tiles), so MapProxy forwards ``TIME`` and a layer has a
time dimension wherever its product has several time slices. Tiles are cached on disk per time
value. Outside the data the renderer answers a transparent image; a 404 is also mapped to a
transparent tile so a missing tile is never an error in a client.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from typing import Any

import yaml

from sdgcube.datacube.catalog import ProductSummary
from sdgcube.settings import Settings

__all__ = ["MAPPROXY_TEMPLATE", "mapproxy_config", "time_values"]

# Installed with the package (sdgcube/ogc_config links to the top-level ogc_config/ folder).
MAPPROXY_TEMPLATE = resources.files("sdgcube") / "ogc_config" / "mapproxy.yml"


@functools.cache
def _template() -> dict[str, Any]:
    return yaml.safe_load(MAPPROXY_TEMPLATE.read_text())


def time_values(summary: ProductSummary) -> list[str]:
    """The TIME values of a product's layer: dates of its time slices (ISO 8601 dates)."""
    return sorted({t.date().isoformat() for t in summary.times})


def _source(settings: Settings, summary: ProductSummary, internal_url: str) -> dict[str, Any]:
    """No ``concurrent_requests``: MapProxy's file-lock semaphore lets waiters overtake each other at
    random, while the renderer already queues every render, MapProxy's included, in arrival order."""
    return {
        "type": "wms",
        "req": {"url": f"{internal_url}/tiles/collections/{summary.name}/wms", "layers": summary.name,
                "transparent": True},
        "forward_req_params": ["time"],
        "supported_srs": ["EPSG:3857"],
        "on_error": {404: {"response": "transparent", "cache": True},
                     204: {"response": "transparent", "cache": True}},
        "coverage": {"bbox": list(summary.bbox), "srs": "EPSG:4326"},
    }  # fmt: skip


def _layer(summary: ProductSummary) -> dict[str, Any]:
    layer: dict[str, Any] = {"name": summary.name, "title": summary.description.split(".")[0][:120],
                             "sources": [f"{summary.name}_cache"]}  # fmt: skip
    values = time_values(summary)
    if len(values) > 1:
        layer["dimensions"] = {"time": {"values": values, "default": values[-1]}}
    return layer


def mapproxy_config(
    settings: Settings, products: list[ProductSummary], *, internal_url: str
) -> dict[str, Any]:
    """The whole MapProxy configuration; ``internal_url`` is where MapProxy reaches the renderer."""
    config = copy.deepcopy(_template())
    cache_dir = settings.data_dir / "cache" / "mapproxy"
    config["globals"]["cache"]["base_dir"] = str(cache_dir)
    config["globals"]["cache"]["lock_dir"] = str(cache_dir / "locks")
    native = sorted({f"EPSG:{p.grid.crs.epsg}" for p in products if p.grid and p.grid.crs.epsg})
    config["services"]["wms"]["srs"] = list(
        dict.fromkeys(config["services"]["wms"]["srs"] + native)
    )
    for summary in products:
        if summary.bbox is None:
            continue
        config["sources"][f"{summary.name}_wms"] = _source(settings, summary, internal_url)
        config["caches"][f"{summary.name}_cache"] = {
            "grids": ["webmercator"], "sources": [f"{summary.name}_wms"], "format": "image/png",
            "request_format": "image/png",
            "cache": {"type": "file", "directory_layout": "tc",
                      "directory": str(cache_dir / summary.name / summary.content_key)},
        }  # fmt: skip
        config["layers"].append(_layer(summary))
    return config
