"""STAC items for what sdgcube writes: one item per dataset, with projection, raster, eo and file
extensions, assets relative to the item so an archive folder can be moved or copied whole."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pystac
from affine import Affine
from odc.geo.geobox import GeoBox
from pystac.extensions.eo import Band, EOExtension
from pystac.extensions.file import FileExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, NoDataStrings, RasterBand, RasterExtension
from shapely.geometry import mapping

from sdgcube.datacube.cog import sha256_multihash

__all__ = ["ITEM_FILE", "BandMeta", "RasterAsset", "build_item"]

ITEM_FILE = "item.json"


@dataclass(frozen=True)
class BandMeta:
    """One band of a raster asset, as STAC's raster and eo extensions describe it."""

    name: str
    dtype: str
    nodata: float | None
    unit: str | None = None
    scale: float | None = None
    offset: float | None = None
    common_name: str | None = None


@dataclass(frozen=True)
class RasterAsset:
    """A COG already written to ``path``, on the grid ``crs`` × ``shape`` × ``transform``."""

    key: str
    path: Path
    bands: tuple[BandMeta, ...]
    crs: str
    shape: tuple[int, int]
    transform: Affine
    roles: tuple[str, ...] = field(default=("data",))

    @property
    def geobox(self) -> GeoBox:
        return GeoBox(self.shape, self.transform, self.crs)


# STAC names numpy's complex types by their parts; every other numpy name is STAC's too.
_STAC_DATA_TYPES = {"complex64": DataType.CFLOAT32, "complex128": DataType.CFLOAT64}


def _nodata_value(nodata: float | None) -> float | NoDataStrings | None:
    if nodata is None:
        return None
    if nodata != nodata:  # NaN
        return NoDataStrings.NAN
    return nodata


def _add_asset(item: pystac.Item, asset: RasterAsset, item_dir: Path) -> None:
    stac_asset = pystac.Asset(
        href=f"./{asset.path.relative_to(item_dir).as_posix()}",
        media_type=pystac.MediaType.COG,
        roles=list(asset.roles),
        title=asset.key,
    )
    item.add_asset(asset.key, stac_asset)
    proj = ProjectionExtension.ext(stac_asset)
    proj.shape = list(asset.shape)
    proj.transform = list(asset.transform)[:6]
    proj.code = asset.crs
    RasterExtension.ext(stac_asset).bands = [
        RasterBand.create(
            nodata=_nodata_value(b.nodata),
            data_type=DataType(_STAC_DATA_TYPES.get(b.dtype, b.dtype)),
            unit=b.unit,
            scale=b.scale,
            offset=b.offset,
            spatial_resolution=abs(asset.transform.a),
        )
        for b in asset.bands
    ]
    EOExtension.ext(stac_asset).bands = [
        Band.create(name=b.name, common_name=b.common_name) for b in asset.bands
    ]
    file_ext = FileExtension.ext(stac_asset)
    file_ext.checksum = sha256_multihash(asset.path)
    file_ext.size = asset.path.stat().st_size


def build_item(
    item_id: str,
    *,
    collection: str,
    when: datetime,
    item_dir: Path,
    assets: Sequence[RasterAsset],
    properties: dict[str, Any] | None = None,
) -> pystac.Item:
    """An item whose footprint is the first asset's grid; assets must lie under ``item_dir``."""
    footprint = assets[0].geobox.extent.to_crs("EPSG:4326")
    geometry = mapping(footprint.geom)
    item = pystac.Item(
        id=item_id,
        geometry=geometry,
        bbox=list(footprint.boundingbox),
        datetime=when,
        properties=dict(properties or {}),
        collection=collection,
    )
    ProjectionExtension.add_to(item)
    RasterExtension.add_to(item)
    EOExtension.add_to(item)
    FileExtension.add_to(item)
    for asset in assets:
        _add_asset(item, asset, item_dir)
    item.set_self_href(str(item_dir / ITEM_FILE))
    return item
