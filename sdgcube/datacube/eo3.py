"""Translating STAC items into ODC eo3 dataset documents (and, for new collections, products).

Band names are normalised to STAC common names (``red``, ``nir08``, ``swir16`` …) so that one
expression works on any product; the provider's own asset key stays available as an alias.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import rasterio

from sdgcube.errors import IngestError

__all__ = [
    "ItemBand",
    "as_uri",
    "dataset_uuid",
    "default_nodata",
    "item_bands",
    "item_to_eo3",
    "product_doc_from_item",
    "product_name",
    "slug",
]

_NAMESPACE = uuid.UUID("6b1f2c52-8a0d-4c4e-9a57-0c9ed5b2f1a3")
_COMMON_NAMES = {
    "coastal", "blue", "green", "red", "yellow", "pan", "rededge", "rededge1", "rededge2",
    "rededge3", "nir", "nir08", "nir09", "cirrus", "swir16", "swir22", "lwir", "lwir11", "lwir12",
}  # fmt: skip
_NON_DATA_ROLES = {"thumbnail", "overview", "metadata", "visual"}


@dataclass(frozen=True)
class ItemBand:
    """One band of one asset of an item, with the grid it lies on."""

    name: str
    asset_key: str
    aliases: tuple[str, ...]
    """Provider names of the band (asset key, eo:bands name) other than ``name``."""
    href: str
    band: int
    dtype: str
    nodata: float | None
    unit: str | None
    crs: str
    shape: tuple[int, int]
    transform: tuple[float, ...]


def default_nodata(dtype: str) -> float:
    """ODC needs a nodata value: NaN for floats, else the end of the range data rarely uses."""
    kind = np.dtype(dtype)
    if np.issubdtype(kind, np.floating):
        return float("nan")
    limits = np.iinfo(kind)
    return int(limits.min) if limits.min < 0 else int(limits.max)


def as_uri(href: str) -> str:
    """A local path as a ``file://`` URI; URIs pass through."""
    return href if "://" in href else Path(href).resolve().as_uri()


def dataset_uuid(item: pystac.Item) -> uuid.UUID:
    """The item id if it is a UUID, else a stable UUID derived from collection and id."""
    try:
        return uuid.UUID(item.id)
    except ValueError:
        return uuid.uuid5(_NAMESPACE, f"{item.collection_id}/{item.id}")


def slug(text: str) -> str:
    """Lower-case word characters only: a valid ODC product or measurement name."""
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "band"


def product_name(collection_id: str) -> str:
    """An ODC product name (word characters only) for a STAC collection id."""
    return slug(collection_id)


def _band_name(asset_key: str, eo_band: dict[str, Any] | None, count: int) -> str:
    common = (eo_band or {}).get("common_name")
    if slug(asset_key) in _COMMON_NAMES and count == 1:
        return slug(asset_key)
    if common:
        return slug(common)
    if count == 1:
        return slug(asset_key)
    return slug((eo_band or {}).get("name") or asset_key)


def _grid(
    item: pystac.Item, asset: pystac.Asset, href: str
) -> tuple[str, tuple[int, int], tuple[float, ...], int, list[dict[str, Any]]]:
    fields = {**item.properties, **asset.extra_fields}
    crs = fields.get("proj:code") or (
        f"EPSG:{fields['proj:epsg']}" if fields.get("proj:epsg") else None
    )
    shape = fields.get("proj:shape")
    transform = fields.get("proj:transform")
    raster_bands = fields.get("raster:bands") or []
    if crs and shape and transform and raster_bands:
        return crs, tuple(shape), tuple(transform[:6]), len(raster_bands), raster_bands
    try:
        with rasterio.open(href) as src:
            if src.crs is None:
                raise IngestError(f"asset {href} has no CRS")
            bands = [{"data_type": dt, "nodata": src.nodata} for dt in src.dtypes]
            return (
                src.crs.to_string(),
                (src.height, src.width),
                tuple(src.transform)[:6],
                src.count,
                raster_bands or bands,
            )
    except rasterio.RasterioIOError as exc:
        raise IngestError(f"asset {href} of item {item.id!r} cannot be read: {exc}") from None


def _is_raster(asset: pystac.Asset) -> bool:
    if set(asset.roles or []) & _NON_DATA_ROLES and "data" not in (asset.roles or []):
        return False
    media = (asset.media_type or "").lower()
    return (
        "tiff" in media
        or "jp2" in media
        or "netcdf" in media
        or asset.href.lower().endswith((".tif", ".tiff", ".jp2", ".nc"))
    )


def item_bands(item: pystac.Item) -> list[ItemBand]:
    """Every raster band of every data asset of the item, in asset order."""
    bands: list[ItemBand] = []
    for key, asset in item.assets.items():
        if not _is_raster(asset):
            continue
        href = asset.get_absolute_href() or asset.href
        crs, shape, transform, count, raster_bands = _grid(item, asset, href)
        eo_bands = asset.extra_fields.get("eo:bands") or []
        for i in range(count):
            eo_band = eo_bands[i] if i < len(eo_bands) else None
            rb = raster_bands[i] if i < len(raster_bands) else {}
            nodata = rb.get("nodata")
            name = _band_name(key, eo_band, count)
            provider = [slug(key)] if count == 1 else []
            if eo_band and eo_band.get("name"):
                provider.append(slug(eo_band["name"]))
            bands.append(
                ItemBand(
                    name=name,
                    asset_key=key,
                    aliases=tuple(dict.fromkeys(a for a in provider if a != name)),
                    href=href,
                    band=i + 1,
                    dtype=rb.get("data_type") or "float32",
                    nodata=float("nan") if nodata == "nan" else nodata,
                    unit=rb.get("unit"),
                    crs=crs,
                    shape=shape,
                    transform=transform,
                )
            )
    if not bands:
        raise IngestError(f"item {item.id!r} has no raster data assets")
    return bands


def _grids(
    bands: list[ItemBand],
) -> tuple[str, dict[str, dict[str, Any]], dict[tuple[Any, ...], str]]:
    keys = Counter((b.shape, b.transform) for b in bands)
    crs_values = {b.crs for b in bands}
    if len(crs_values) > 1:
        raise IngestError(f"bands of one item use several CRSs: {sorted(crs_values)}")
    names: dict[tuple[Any, ...], str] = {}
    grids: dict[str, dict[str, Any]] = {}
    for n, (key, _) in enumerate(keys.most_common()):
        shape, transform = key
        name = "default" if n == 0 else f"g{abs(transform[0]):g}".replace(".", "_")
        if name in grids:
            name = f"{name}_{n}"
        names[key] = name
        grids[name] = {"shape": list(shape), "transform": [*transform, 0.0, 0.0, 1.0]}
    return crs_values.pop(), grids, names


def item_to_eo3(
    item: pystac.Item, product: str, measurements: dict[str, str] | None = None
) -> dict[str, Any]:
    """The eo3 dataset document for an item of ``product``.

    ``measurements`` maps the product's measurement names to item band names where they differ
    (by default each item band keeps its own name)."""
    bands = item_bands(item)
    by_name = {b.name: b for b in bands}
    wanted = measurements or {b.name: b.name for b in bands}
    missing = sorted(m for m, src in wanted.items() if src not in by_name)
    if missing:
        raise IngestError(f"item {item.id!r} lacks bands {missing} of product {product!r}")
    crs, grids, grid_names = _grids([by_name[src] for src in wanted.values()])
    when = item.datetime or item.common_metadata.start_datetime
    if when is None:
        raise IngestError(f"item {item.id!r} has no datetime")
    doc_measurements = {}
    for name, src in wanted.items():
        band = by_name[src]
        entry: dict[str, Any] = {"path": as_uri(band.href)}
        if band.band != 1 or any(b.asset_key == band.asset_key and b.band > 1 for b in bands):
            entry["band"] = band.band
        grid = grid_names[(band.shape, band.transform)]
        if grid != "default":
            entry["grid"] = grid
        doc_measurements[name] = entry
    properties = {
        k: v
        for k, v in item.properties.items()
        if k.startswith(("eo:", "sdgcube:")) or k in ("platform", "instruments")
    }
    properties.update({"datetime": when.isoformat(), "odc:file_format": "GeoTIFF"})
    for key in ("start_datetime", "end_datetime"):
        if key in item.properties:
            properties[key] = item.properties[key]
    return {
        "$schema": "https://schemas.opendatacube.org/dataset",
        "id": str(dataset_uuid(item)),
        "label": item.id,
        "product": {"name": product},
        "crs": crs.lower() if crs.upper().startswith("EPSG:") else crs,
        "grids": grids,
        "properties": properties,
        "measurements": doc_measurements,
        "lineage": {},
    }


def product_doc_from_item(
    item: pystac.Item, name: str, description: str | None = None
) -> dict[str, Any]:
    """A new eo3 product whose measurements are the item's bands."""
    measurements = []
    for band in item_bands(item):
        nodata = band.nodata if band.nodata is not None else default_nodata(band.dtype)
        entry: dict[str, Any] = {
            "name": band.name,
            "dtype": band.dtype,
            "units": band.unit or "1",
            "nodata": nodata,
        }
        if band.aliases:
            entry["aliases"] = list(band.aliases)
        measurements.append(entry)
    return {
        "name": name,
        "description": description or f"Created by sdgcube from {item.collection_id or item.id}",
        "metadata_type": "eo3",
        "metadata": {"product": {"name": name}},
        "measurements": measurements,
    }
