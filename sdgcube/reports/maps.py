"""Result maps for reports, drawn server-side from the cube through the tiler's own reader.

A map is a preview of a result product read by `ProductReader` (the same reads, overviews and
limits as ``/tiles``), coloured with a class legend (the 15.3.1 parts, the land-cover legend of
``render.yaml``) or with the product's default rendering (``render_defaults``: a colormap of
rio-tiler stretched over its percentiles), with the reporting units' outlines burnt on top. The
PNG is embedded in the page as a ``data:`` URI: a report never makes a request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sdgcube.reports.content import LegendItem, MapFigure

__all__ = ["CLASS_LEGENDS", "class_legend", "render_map"]

_DEGRADATION = ((-1, "Degraded", "#ab2727"), (0, "Stable", "#ffffe0"), (1, "Improved", "#45a146"))
_LPD = ((1, "Declining", "#f23c46"), (2, "Moderate decline", "#ffae4c"),
        (3, "Stressed", "#ffff73"), (4, "Stable", "#a9afae"), (5, "Increasing", "#267300"))  # fmt: skip
_LAND_COVER = ("Tree-covered", "Grassland", "Cropland", "Wetland", "Artificial", "Other land",
               "Water body")  # fmt: skip
CLASS_LEGENDS: Mapping[str, tuple[tuple[int, str, str], ...]] = {
    "lpd": _LPD,
    "reporting_lpd": _LPD,
    **dict.fromkeys(("trajectory", "state", "performance", "land_cover", "soc", "sdg", "status"), _DEGRADATION),
    **{f"reporting_{part}": _DEGRADATION for part in ("trajectory", "state", "performance",
                                                      "land_cover", "soc", "sdg")},
}  # fmt: skip
"""Trends.Earth's colours for the 15.3.1 parts (classes −1/0/1) and the five LPD classes."""
_OUTLINE = (40, 40, 40, 255)
MAX_SIDE = 720
"""Longest side of a map, in pixels: sharp on an A4 page without a large PDF."""


def class_legend(cube: Any, product: str, part: str | None) -> tuple[tuple[int, str, str], ...]:
    """The classes of a result part, or of a cube product with a discrete colormap; () if none."""
    if part is not None and part in CLASS_LEGENDS:
        return CLASS_LEGENDS[part]
    from sdgcube.tiles.render import render_config

    config = render_config()
    spec = config.products.get(product)
    if spec is None or spec.colormap_name not in config.colormaps:
        return ()
    entries = config.colormaps[spec.colormap_name]
    names = _LAND_COVER if spec.colormap_name == "sdgcube_land_cover" else ()
    return tuple((value, names[value - 1] if 0 < value <= len(names) else str(value), colour[:7])
                 for value, colour in sorted(entries.items()))  # fmt: skip


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _classed(
    values: np.ndarray, valid: np.ndarray, classes: Sequence[tuple[int, str, str]]
) -> np.ndarray:
    rgba = np.zeros((*values.shape, 4), dtype=np.uint8)
    codes = np.where(valid, np.rint(values), np.nan)
    for value, _, colour in classes:
        rgba[codes == value] = (*_rgb(colour), 255)
    return rgba


def _stretched(
    values: np.ndarray, valid: np.ndarray, low: float, high: float, name: str
) -> np.ndarray:
    from sdgcube.tiles.render import colormaps

    lookup = np.array([colormaps().get(name)[i] for i in range(256)], dtype=np.uint8)
    scaled = np.clip((values - low) / ((high - low) or 1.0), 0, 1)
    index = np.where(valid, np.rint(scaled * 255), 0).astype(np.uint8)
    rgba = lookup[index]
    rgba[..., 3] = np.where(valid, 255, 0)
    return rgba


def _ramp(name: str, steps: int = 9) -> tuple[LegendItem, ...]:
    from sdgcube.tiles.render import colormaps

    table = colormaps().get(name)
    picks = [round(i * 255 / (steps - 1)) for i in range(steps)]
    return tuple(LegendItem("", "#{:02x}{:02x}{:02x}".format(*table[i][:3])) for i in picks)


def _outlines(rgba: np.ndarray, image: Any, units: Sequence[Mapping[str, Any]]) -> None:
    """Burn the units' boundaries (GeoJSON, WGS 84) into the picture, one pixel wide."""
    from rasterio.features import rasterize
    from rasterio.transform import from_bounds
    from rasterio.warp import transform_geom
    from shapely.geometry import mapping, shape

    if not units:
        return
    height, width = rgba.shape[:2]
    transform = from_bounds(*image.bounds, width, height)
    lines = [transform_geom("EPSG:4326", image.crs, mapping(shape(g).boundary)) for g in units]
    burnt = rasterize(lines, out_shape=(height, width), transform=transform, all_touched=True)
    rgba[burnt > 0] = _OUTLINE


def _png(rgba: np.ndarray) -> bytes:
    from rio_tiler.utils import render

    return render(np.moveaxis(rgba[..., :3], -1, 0), rgba[..., 3], img_format="PNG")


def render_map(
    cube: Any, product: str, *, title: str, part: str | None = None,
    units: Sequence[Mapping[str, Any]] = (), max_side: int = MAX_SIDE,
) -> MapFigure:  # fmt: skip
    """The latest time slice of ``product`` as a PNG with its legend; unit outlines on top."""
    from sdgcube.tiles.catalog import select
    from sdgcube.tiles.overviews import OverviewStore
    from sdgcube.tiles.reader import ProductReader, TileSource
    from sdgcube.tiles.render import render_defaults

    selection = select(cube, product, None)
    source = TileSource(
        selection, cube, OverviewStore.of(cube.settings), cube.settings.limits.max_pixels
    )
    left, bottom, right, top = selection.bounds
    # A fixed size, not the native one: a small area is enlarged (nearest, classes stay classes).
    ratio = (top - bottom) / (right - left)
    width, height = (
        (max_side, max(1, round(max_side * ratio)))
        if ratio <= 1
        else (max(1, round(max_side / ratio)), max_side)
    )
    image = ProductReader(source).preview(
        width=width, height=height, bands=[selection.bands[0].name]
    )
    values = image.array.data[0].astype("float64")
    valid = ~np.ma.getmaskarray(image.array)[0] & np.isfinite(values)
    classes = class_legend(cube, product, part)
    if classes:
        rgba = _classed(values, valid, classes)
        legend = tuple(LegendItem(label, colour) for _, label, colour in classes)
        ramp = None
    else:
        defaults = render_defaults(cube, product)
        low, high = (float(v) for v in defaults.get("rescale", "0,1").split(","))
        name = defaults.get("colormap_name", "viridis")
        rgba, legend, ramp = _stretched(values, valid, low, high, name), _ramp(name), (low, high)
    _outlines(rgba, image, units)
    return MapFigure(title=title, collection=product, png=_png(rgba), legend=legend, ramp=ramp)
