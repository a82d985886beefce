"""Writing Cloud-Optimised GeoTIFFs atomically: to a temporary name beside the target, then renamed."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.io import DatasetReader, MemoryFile
from rio_cogeo.cogeo import cog_translate
from rio_cogeo.profiles import cog_profiles

__all__ = ["atomic_path", "sha256_multihash", "translate_to_cog", "write_cog"]

_BLOCK = 256


def _profile(dtype: np.dtype) -> dict[str, object]:
    profile = dict(cog_profiles.get("deflate"))
    profile.update(blockxsize=_BLOCK, blockysize=_BLOCK)
    if np.issubdtype(dtype, np.floating):
        profile["predictor"] = 3
    elif dtype.itemsize > 1:
        profile["predictor"] = 2
    return profile


def _overview_resampling(dtype: np.dtype, categorical: bool) -> Literal["nearest", "average"]:
    return "nearest" if categorical or not np.issubdtype(dtype, np.number) else "average"


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


_IN_MEMORY_BYTES = 64 * 2**20
"""Larger rasters are converted through a temporary file, so memory stays bounded: a job publishes
its results four at a time, and twelve 8192² float rasters of a country job converted in memory
added a gigabyte to its worker's peak (benchmarks/RESULTS.md, issue 10)."""


def translate_to_cog(
    src: DatasetReader,
    target: Path,
    *,
    indexes: list[int] | None = None,
    nodata: float | None = None,
    categorical: bool = False,
) -> None:
    """Copy bands of an open raster into a COG with internal overviews at ``target``."""
    dtype = np.dtype(src.dtypes[0])
    with atomic_path(target) as tmp:
        cog_translate(
            src,
            str(tmp),
            _profile(dtype),
            indexes=indexes,
            nodata=nodata,
            in_memory=src.width * src.height * src.count * dtype.itemsize <= _IN_MEMORY_BYTES,
            quiet=True,
            overview_resampling=_overview_resampling(dtype, categorical),
            use_cog_driver=False,
            forward_band_tags=True,
        )


def write_cog(
    data: np.ndarray,
    target: Path,
    *,
    crs: CRS | str,
    transform: Affine,
    nodata: float | None,
    categorical: bool = False,
    band_names: Sequence[str] | None = None,
) -> None:
    """Write a (bands, y, x) or (y, x) array as a COG, with optional band descriptions."""
    bands = data[np.newaxis] if data.ndim == 2 else data
    count, height, width = bands.shape
    profile = {
        "driver": "GTiff",
        "count": count,
        "height": height,
        "width": width,
        "dtype": bands.dtype,
        "crs": CRS.from_user_input(crs),
        "transform": transform,
        "nodata": nodata,
    }
    with MemoryFile() as mem:
        with mem.open(**profile) as dataset:
            dataset.write(bands)
            for index, name in enumerate(band_names or [], start=1):
                dataset.set_band_description(index, name)
        with mem.open() as dataset:
            translate_to_cog(dataset, target, nodata=nodata, categorical=categorical)


def sha256_multihash(path: Path) -> str:
    """The STAC ``file:checksum`` of a file: a sha2-256 multihash in hex."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return "1220" + digest.hexdigest()
