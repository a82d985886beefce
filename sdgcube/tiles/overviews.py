"""Per-product, per-time-slice overviews, so that a zoom-0 tile costs about what a zoom-14 tile does.

Without them a low-zoom tile over many datasets opens every one of them (TiTiler mosaics time out
that way). An overview is one float32 COG holding every band of the product, mosaicked newest
first at a power-of-two multiple of the native pixel size chosen so that the whole extent fits in
``max_side`` pixels. It is built once from ``Cube.load`` (which reads the COGs' own overviews),
written beside its final name and renamed, under a per-product file lock so that two workers never
both build it. Its name carries a fingerprint of the dataset ids, so a selection that gained or lost
a dataset gets a new file and the stale one is removed.
"""

from __future__ import annotations

import fcntl
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from rasterio.io import MemoryFile

from sdgcube.datacube.bands import Band
from sdgcube.datacube.cog import translate_to_cog
from sdgcube.datacube.cube import Cube
from sdgcube.settings import Settings
from sdgcube.tiles.catalog import BBox, Selection, select

__all__ = [
    "MAX_DATASETS_PER_READ",
    "OVERVIEW_MAX_SIDE",
    "OverviewStore",
    "build_overviews",
    "overview_resolution",
    "use_overview",
]

OVERVIEW_MAX_SIDE = 2048
"""Longest side, in pixels, of an overview: a few tens of MB for a multi-band product."""
MAX_DATASETS_PER_READ = 16
"""Beyond this many datasets under one request, up to 4× upsampling of the overview is preferred."""


def overview_resolution(native: float, bounds: BBox, max_side: int = OVERVIEW_MAX_SIDE) -> float:
    """``native`` × the smallest power of two that fits ``bounds`` in ``max_side`` pixels.

    Powers of two line up with the internal overview levels of the source COGs."""
    side = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) / native
    factor = 1 if side <= max_side else 2 ** math.ceil(math.log2(side / max_side))
    return native * factor


def use_overview(
    pixel_size: float,
    overview_res: float,
    datasets: int,
    *,
    max_datasets: int = MAX_DATASETS_PER_READ,
) -> bool:
    """Whether a read of ``pixel_size`` (native CRS units) over ``datasets`` datasets uses the overview.

    Always when the overview is at least as detailed as the request; also when the request would
    otherwise open more than ``max_datasets`` datasets and the overview is at most 4× coarser."""
    if pixel_size >= overview_res:
        return True
    return datasets > max_datasets and pixel_size * 4 >= overview_res


@dataclass(frozen=True)
class OverviewStore:
    """Where overviews live and how coarse they are."""

    root: Path
    max_side: int = OVERVIEW_MAX_SIDE

    @classmethod
    def of(cls, settings: Settings) -> OverviewStore:
        return cls(settings.data_dir / "cache" / "overviews")

    def resolution(self, selection: Selection) -> float:
        return overview_resolution(selection.resolution, selection.bounds, self.max_side)

    def path(self, selection: Selection) -> Path:
        return self.root / selection.product / f"{selection.label}_{selection.fingerprint}.tif"

    def ensure(self, cube: Cube, selection: Selection) -> Path:
        """The overview of ``selection``, built first if no worker has built it yet."""
        target = self.path(selection)
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive(target.parent / ".lock"):
            if not target.exists():
                _build(cube, selection, target, self.resolution(selection))
                for stale in target.parent.glob(f"{selection.label}_*.tif"):
                    if stale != target:
                        stale.unlink(missing_ok=True)
        return target


def build_overviews(cube: Cube, product: str, *, datetime: str | None = None) -> Path:
    """Build the overview of ``product`` at ``datetime`` (default: its latest time slice) now.

    For the server to call after registering a result, so the first map view is quick."""
    return OverviewStore.of(cube.settings).ensure(cube, select(cube, product, datetime))


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """An exclusive lock across threads and processes, released even if the holder dies."""
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _valid(values: np.ndarray, nodata: float) -> np.ndarray:
    if math.isnan(nodata):
        return ~np.isnan(values) if values.dtype.kind == "f" else np.ones(values.shape, bool)
    return values != nodata


def _mosaic_newest_first(data: xr.Dataset, bands: Sequence[Band]) -> np.ndarray:
    """Fill each pixel of each band from the newest time slice that has a value there."""
    height, width = data[bands[0].name].shape[-2:]
    out = np.full((len(bands), height, width), np.nan, np.float32)
    for t in reversed(range(data.sizes["time"])):
        layer = data.isel(time=t).compute(scheduler="threads")
        for i, band in enumerate(bands):
            values = layer[band.name].values
            take = np.isnan(out[i]) & _valid(values, band.fill)
            out[i][take] = values[take]
        if not np.isnan(out).any():
            break
    return out


def _statistics(values: np.ndarray) -> dict[str, str]:
    """GDAL's statistics tags plus the 2nd/98th percentiles the default rendering stretches to."""
    valid = values[~np.isnan(values)]
    if valid.size == 0:
        return {}
    p2, p98 = np.percentile(valid, [2, 98])
    return {
        "STATISTICS_MINIMUM": f"{valid.min():g}",
        "STATISTICS_MAXIMUM": f"{valid.max():g}",
        "STATISTICS_P2": f"{p2:g}",
        "STATISTICS_P98": f"{p98:g}",
    }


def _build(cube: Cube, selection: Selection, target: Path, resolution: float) -> None:
    bands = selection.bands
    data = cube.load(
        selection.product,
        time=selection.time_range,
        crs=selection.crs,
        resolution=resolution,
        measurements=[b.name for b in bands],
    )
    mosaic = _mosaic_newest_first(data, bands)
    geobox = data.odc.geobox
    profile = {
        "driver": "GTiff", "count": len(bands), "height": mosaic.shape[1], "width": mosaic.shape[2],
        "dtype": "float32", "crs": str(geobox.crs), "transform": geobox.transform, "nodata": float("nan"),
    }  # fmt: skip
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(mosaic)
            dst.update_tags(
                SDGCUBE_PRODUCT=selection.product,
                SDGCUBE_FINGERPRINT=selection.fingerprint,
                SDGCUBE_DATASETS=str(len(selection.datasets)),
            )
            for i, band in enumerate(bands, start=1):
                dst.set_band_description(i, band.name)
                dst.update_tags(i, **_statistics(mosaic[i - 1]))
        with mem.open() as src:
            # Nearest-neighbour internal overviews if any band holds classes or flags: an average
            # of class codes is no class at all.
            translate_to_cog(
                src, target, nodata=float("nan"), categorical=any(b.categorical for b in bands)
            )
