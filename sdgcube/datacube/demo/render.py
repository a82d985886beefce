"""Making one demo dataset's COGs from its job, in whichever process runs it.

A job is a small picklable description (product, year, what to make); the worker rebuilds the
landscape from (size, seed) — cached per process — so nothing large crosses between processes. A
whole grid (small, medium) is made in memory and written as before; a windowed grid (large,
country) window by window into an uncompressed temporary GeoTIFF per band, then converted to a COG
by GDAL's COG driver, so that a process holds one window's arrays and not an 8192² stack."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.windows import Window as RioWindow

from sdgcube.datacube.archive import write_dataset
from sdgcube.datacube.cog import atomic_path, write_cog
from sdgcube.datacube.demo import timeseries as ts
from sdgcube.datacube.demo.chips import CHIP_PIXEL, CHIP_SIZE, make_chip
from sdgcube.datacube.demo.landscape import (
    CRS,
    GRIDS,
    DemoGrid,
    Landscape,
    Window,
    island_shapes,
    make_landscape,
)
from sdgcube.datacube.demo.noise import BlockNoise, Noise, WholeNoise, dataset_rng
from sdgcube.datacube.stac_items import BandMeta, RasterAsset

__all__ = ["DemoJob", "RenderTask", "chip_origin", "render"]


@dataclass(frozen=True)
class DemoJob:
    """One dataset of the demo archive: ``kind`` says what to make for ``year`` (``index``: the
    quarter of a water observation, the number of a chip)."""

    product: str
    when: datetime
    key: str
    kind: str
    year: int = 0
    index: int = 0


@dataclass(frozen=True)
class RenderTask:
    """A job with what a worker needs to write its dataset folder."""

    job: DemoJob
    size: str
    seed: int
    chips: int
    archive_dir: Path
    dataset_id: str
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Band:
    name: str
    dtype: str
    nodata: float | None
    unit: str
    scale: float | None = None
    categorical: bool = False
    common_name: str | None = None


_SR = (
    *(_Band(name, "int16", ts.SR_NODATA, "1", scale=0.0001, common_name=name)
      for name in ("blue", "green", "red", "nir08", "swir16", "swir22")),
    _Band("pixel_quality", "uint8", 1, "bit_index", categorical=True),
)  # fmt: skip
_BANDS = {
    "sr": _SR,
    "land_cover": (_Band("land_cover", "uint8", 0, "class", categorical=True),),
    "water": (_Band("water", "uint8", 255, "class", categorical=True),),
    "built_up": (_Band("built_up", "uint8", 255, "class", categorical=True),),
    "population": (_Band("population", "float32", float("nan"), "persons"),),
    "soc": (_Band("soc", "int16", ts.SOC_NODATA, "t/ha"),),
    "rgb": tuple(_Band(c, "uint8", 0, "1", common_name=c) for c in ("red", "green", "blue")),
    "labels": (_Band("building", "uint8", 255, "class", categorical=True),),
}


@functools.lru_cache(maxsize=1)
def _whole_landscape(size: str, seed: int) -> Landscape:
    return make_landscape(GRIDS[size], np.random.default_rng(seed))


def _noise(task: RenderTask, ls: Landscape, key: str) -> Noise:
    if ls.grid.windowed:
        return BlockNoise(task.seed, key, ls.grid, ls.window)
    return WholeNoise(dataset_rng(task.seed, key), ls.shape)


def _arrays(task: RenderTask, ls: Landscape) -> dict[str, np.ndarray]:
    """The bands of a (non-chip) job over ``ls``'s window."""
    job, year = task.job, task.job.year
    if job.kind == "sr":
        return ts.annual_composite(ls, year, _noise(task, ls, job.key))
    if job.kind == "land_cover":
        return {"land_cover": ts.land_cover(ls, year)}
    if job.kind == "water":
        gap = int(dataset_rng(task.seed, f"gap/{year}").integers(len(ts.QUARTER_DATES)))
        noise = _noise(task, ls, job.key)
        return {"water": ts.water_observation(ls, year, job.index, gap, noise)}
    if job.kind == "built_up":
        return {"built_up": ts.built_up(ls, year).astype(np.uint8)}
    if job.kind == "population":
        return {"population": ts.population(ls, year)}
    if job.kind == "soc":
        return {"soc": ts.soil_carbon(ls, year, _noise(task, ls, job.key))}
    raise ValueError(f"unknown demo job kind {job.kind!r}")


def chip_origin(grid: DemoGrid, town_x: float, town_y: float, index: int, count: int) -> Affine:
    """Chips tile the town centre in a square block, 128 m each."""
    side = int(np.ceil(np.sqrt(count)))
    t = grid.transform
    x0 = t.c + town_x * t.a - side * CHIP_SIZE * CHIP_PIXEL / 2
    y0 = t.f + town_y * t.e + side * CHIP_SIZE * CHIP_PIXEL / 2
    row, col = divmod(index, side)
    return Affine(
        CHIP_PIXEL, 0, x0 + col * CHIP_SIZE * CHIP_PIXEL,
        0, -CHIP_PIXEL, y0 - row * CHIP_SIZE * CHIP_PIXEL,
    )  # fmt: skip


def _asset(folder: Path, band: _Band, shape: tuple[int, int], transform: Affine) -> RasterAsset:
    meta = BandMeta(band.name, band.dtype, band.nodata, unit=band.unit, scale=band.scale,
                    common_name=band.common_name)  # fmt: skip
    return RasterAsset(band.name, folder / f"{band.name}.tif", (meta,), CRS, shape, transform)


def _write_whole(folder: Path, bands: tuple[_Band, ...], arrays: dict[str, np.ndarray],
                 transform: Affine) -> list[RasterAsset]:  # fmt: skip
    assets = []
    for band in bands:
        data = arrays[band.name]
        write_cog(data, folder / f"{band.name}.tif", crs=CRS, transform=transform,
                  nodata=band.nodata, categorical=band.categorical)  # fmt: skip
        assets.append(_asset(folder, band, data.shape[-2:], transform))
    return assets


def _chip_assets(task: RenderTask, folder: Path) -> list[RasterAsset]:
    index = task.job.index
    chip = make_chip(dataset_rng(task.seed, f"chip/{index}"))
    grid = GRIDS[task.size]
    town = island_shapes(grid, np.random.default_rng(task.seed))["town"].centroid
    transform = chip_origin(grid, town.x, town.y, index, task.chips)
    if task.job.kind == "rgb":
        arrays = {name: chip.rgb[i] for i, name in enumerate(("red", "green", "blue"))}
    else:
        arrays = {"building": chip.labels}
    return _write_whole(folder, _BANDS[task.job.kind], arrays, transform)


@functools.lru_cache(maxsize=1)
def _window_landscape(size: str, seed: int, window: Window) -> Landscape:
    """Cached for the one-window ``large``; ``country`` cycles through 16 windows (0.3 s each)."""
    return make_landscape(GRIDS[size], np.random.default_rng(seed), window)


def _window_landscapes(task: RenderTask) -> Iterator[Landscape]:
    for window in GRIDS[task.size].windows():
        yield _window_landscape(task.size, task.seed, window)


def _raw_writer(path: Path, band: _Band, shape: tuple[int, int], transform: Affine) -> Any:
    """An uncompressed tiled GeoTIFF to fill (window by window) before it becomes a COG."""
    return rasterio.open(
        path, "w", driver="GTiff", height=shape[0], width=shape[1], count=1, dtype=band.dtype,
        crs=CRS, transform=transform, nodata=band.nodata, tiled=True, blockxsize=256,
        blockysize=256,
    )  # fmt: skip


def _raw_to_cog(raw: Path, target: Path, band: _Band) -> None:
    """GDAL's COG driver at deflate level 1: one compression pass instead of rio-cogeo's two, and
    the fastest level — the noise of an 8192² band hardly compresses at any level."""
    predictor = 3 if band.dtype.startswith("float") else 2 if band.dtype != "uint8" else 1
    resampling = "nearest" if band.categorical else "average"
    with atomic_path(target) as tmp, rasterio.open(raw) as src:
        rasterio.shutil.copy(src, tmp, driver="COG", compress="DEFLATE", level=1,
                             predictor=predictor, blocksize=256, overview_resampling=resampling)  # fmt: skip


def _write_windowed(task: RenderTask, folder: Path) -> list[RasterAsset]:
    """Window by window into one temporary GeoTIFF per band, then each converted to a COG."""
    grid, bands = GRIDS[task.size], _BANDS[task.job.kind]
    raw = {band.name: folder / f".{band.name}.raw.tif" for band in bands}
    with ExitStack() as stack:
        out = {
            band.name: stack.enter_context(
                _raw_writer(raw[band.name], band, grid.shape, grid.transform)
            )
            for band in bands
        }
        for ls in _window_landscapes(task):
            w: Window = ls.window
            for name, data in _arrays(task, ls).items():
                out[name].write(data, 1, window=RioWindow(w.col, w.row, w.width, w.height))
    assets = []
    for band in bands:
        _raw_to_cog(raw[band.name], folder / f"{band.name}.tif", band)
        raw[band.name].unlink()
        assets.append(_asset(folder, band, grid.shape, grid.transform))
    return assets


def _write_assets(task: RenderTask, folder: Path) -> list[RasterAsset]:
    if task.job.kind in ("rgb", "labels"):
        return _chip_assets(task, folder)
    grid = GRIDS[task.size]
    if grid.windowed:
        return _write_windowed(task, folder)
    ls = _whole_landscape(task.size, task.seed)
    return _write_whole(folder, _BANDS[task.job.kind], _arrays(task, ls), grid.transform)


def render(task: RenderTask) -> Path:
    """Write the task's dataset folder into the archive; return its ``item.json``."""
    job = task.job
    return write_dataset(
        task.archive_dir, product=job.product, when=job.when, dataset_id=task.dataset_id,
        write_assets=functools.partial(_write_assets, task), properties=task.properties,
    )  # fmt: skip
