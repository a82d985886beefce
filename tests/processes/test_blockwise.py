"""Rasters written block by block by whichever task computed the block, and read back lazily."""

from __future__ import annotations

from pathlib import Path

import dask
import dask.array as da
import numpy as np
import rasterio
from odc.geo.geobox import GeoBox
from odc.geo.xr import wrap_xr

from sdgcube.processes.blockwise import block_side, create_tiled, read_tiled, tree_sum, write_blocks
from sdgcube.processes.context import thread_lock

_GRID = GeoBox.from_bbox(
    (500_000, 9_000_000, 500_000 + 30 * 2500, 9_000_000 + 30 * 1300), "EPSG:32737", resolution=30
)


def test_blocks_written_by_threads_are_the_whole_raster(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    first, second = rng.random(_GRID.shape, np.float32), rng.random(_GRID.shape, np.float32)
    first[5:9, 7:11] = np.nan
    arrays = [wrap_xr(da.from_array(a, chunks=(700, 900)), _GRID) for a in (first, second)]
    raster = create_tiled(tmp_path / "two.tif", _GRID, ["first", "second"])
    writes = write_blocks({raster: arrays}, thread_lock)
    (counts,) = dask.compute(writes, scheduler="threads", num_workers=4)
    assert counts.shape == (2, 3) and counts.sum() == first.size  # rechunked to 1024² blocks
    with rasterio.open(raster.path) as src:
        assert src.descriptions == ("first", "second") and src.block_shapes[0] == (512, 512)
        assert src.crs == "EPSG:32737" and src.transform == _GRID.affine
        np.testing.assert_array_equal(src.read(1), first)
        np.testing.assert_array_equal(src.read(2), second)
    back = read_tiled(raster, _GRID)
    assert back["second"].odc.geobox == _GRID and back["second"].data.chunksize == (1024, 1024)
    np.testing.assert_array_equal(back["first"].values, first)
    window = back["second"].isel(y=slice(1000, 1100), x=slice(2040, 2500)).values
    np.testing.assert_array_equal(window, second[1000:1100, 2040:2500])


def test_a_block_never_written_reads_as_nodata(tmp_path: Path) -> None:
    raster = create_tiled(tmp_path / "empty.tif", _GRID, ["value"])
    raster.write(np.ones((1, 10, 10), np.float32), 1024, 0)
    values = read_tiled(raster, _GRID)["value"].values
    assert np.isnan(values[:1024]).all() and (values[1024:1034, :10] == 1).all()


def test_block_side_bounds_the_number_of_blocks() -> None:
    assert block_side((2048, 2048)) == 1024 and block_side((8192, 8192)) == 1024
    side = block_side((200_000, 200_000))
    assert side == 2048 and (200_000 // side + 1) ** 2 <= 16_384


def test_tree_sum_adds_every_part_once() -> None:
    parts = [dask.delayed(np.full)(3, i) for i in range(11)]
    (total,) = dask.compute(tree_sum(parts))
    np.testing.assert_array_equal(total, np.full(3, sum(range(11))))
