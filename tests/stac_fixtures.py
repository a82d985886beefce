"""Provider-shaped STAC items (Landsat C2 L2 and Sentinel-2 L2A layouts) with local COG assets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pystac
from affine import Affine

from sdgcube.datacube.cog import write_cog

LANDSAT_BANDS = {
    "blue": "SR_B2",
    "green": "SR_B3",
    "red": "SR_B4",
    "nir08": "SR_B5",
    "swir16": "SR_B6",
    "swir22": "SR_B7",
}
SENTINEL_BANDS = {
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B08": "nir",
    "B11": "swir16",
    "B12": "swir22",
}


def landsat_item(folder: Path, when: datetime, value: int = 8000) -> pystac.Item:
    """A Landsat-C2-L2-like item: asset keys are common names, ``proj:epsg`` (projection v1)."""
    transform = Affine(30, 0, 399960, 0, -30, 5000040)
    folder.mkdir(parents=True, exist_ok=True)
    item = pystac.Item(f"LC09_L2SP_TEST_{when:%Y%m%d}", {"type": "Point", "coordinates": [15.0, 45.0]},
                       [14.9, 44.9, 15.1, 45.1], when, {"proj:epsg": 32633, "platform": "landsat-9"},
                       collection="landsat-c2l2-sr")  # fmt: skip
    for i, (key, native) in enumerate(LANDSAT_BANDS.items()):
        path = folder / f"{native}.TIF"
        write_cog(
            np.full((40, 50), value + i, dtype=np.uint16),
            path,
            crs="EPSG:32633",
            transform=transform,
            nodata=0,
        )
        asset = pystac.Asset(path.name, media_type=pystac.MediaType.COG, roles=["data"])
        asset.extra_fields.update({
            "proj:shape": [40, 50], "proj:transform": list(transform)[:6],
            "eo:bands": [{"name": native, "common_name": key}],
            "raster:bands": [{"data_type": "uint16", "nodata": 0, "scale": 2.75e-05, "offset": -0.2}],
        })  # fmt: skip
        item.add_asset(key, asset)
    item.add_asset(
        "thumbnail",
        pystac.Asset("thumb.jpg", roles=["thumbnail"], media_type=pystac.MediaType.JPEG),
    )
    item.set_self_href(str(folder / "item.json"))
    item.save_object(include_self_link=False)
    return item


def sentinel_item(folder: Path) -> pystac.Item:
    """A Sentinel-2-L2A-like item: band ids as keys, common names in eo:bands, no projection fields,
    and two grids (10 m and 20 m)."""
    when = datetime(2022, 6, 1, 10, 30, tzinfo=UTC)
    folder.mkdir(parents=True, exist_ok=True)
    item = pystac.Item("S2B_33TWM_20220601_0_L2A", {"type": "Point", "coordinates": [15.0, 45.0]},
                       [14.9, 44.9, 15.1, 45.1], when, {}, collection="sentinel-2-l2a")  # fmt: skip
    for key, common in SENTINEL_BANDS.items():
        res = 20 if key in ("B11", "B12") else 10
        size = 60 // (res // 10)
        path = folder / f"{key}.tif"
        data = np.full((size, size), 1000 + int(key[1:]), dtype=np.uint16)
        write_cog(
            data,
            path,
            crs="EPSG:32633",
            transform=Affine(res, 0, 500000, 0, -res, 5000000),
            nodata=0,
        )
        asset = pystac.Asset(path.name, media_type=pystac.MediaType.COG, roles=["data"])
        asset.extra_fields["eo:bands"] = [{"name": key, "common_name": common}]
        item.add_asset(key, asset)
    item.set_self_href(str(folder / "item.json"))
    item.save_object(include_self_link=False)
    return item
