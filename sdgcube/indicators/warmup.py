"""Compile the kernels ahead of the first job, into numba's on-disk cache.

A kernel compiles on its first call in a process unless numba's cache (``cache=True``) already
holds it for those argument types: 20-40 s of the first sdg-15-3-1 job on a fresh install. The
warm-up calls each kernel once on tiny arrays of the types the processes hand it over the built-in
products (float32 NDVI series, float64 means, uint8 class and water codes, float32 dNBR, int32 unit
codes), so later processes — the server's Dask workers too — load them instead. Another type, from
a user's own product, still compiles on its first use, once.

The cache lives where numba puts it, the same for every process of one user and install:
``NUMBA_CACHE_DIR`` when set, else ``__pycache__`` beside the kernels when writable (a checkout or
an editable install), else the user's cache folder (``~/.cache/numba``). A read-only install is
therefore warmed by running ``sdgcube warmup`` as the user who serves.
"""

from __future__ import annotations

import numpy as np

from sdgcube.indicators import burn, forest, productivity, trend, urban, water, zonal

__all__ = ["warm_up"]


def _series() -> tuple[np.ndarray, np.ndarray]:
    years = np.arange(2000, 2006, dtype=np.float64)
    values = np.linspace(0.2, 0.8, 2 * 2 * years.size, dtype=np.float32).reshape(2, 2, -1)
    values[0, 0, 1] = np.nan
    return values, years


def warm_up() -> str:
    """Run every kernel once on the array types the processes give it (see the module doc);
    returns the folder of numba's cache they are in."""
    values, years = _series()
    trend.trajectory(values, years)
    productivity.productivity_state(values[..., :3], values[..., 3:])
    land_cover = np.array([[[1, 2], [7, 0]]], dtype=np.uint8)
    forest.forest_from_land_cover(land_cover)  # (time, y, x)
    forest.forest_from_land_cover(land_cover[0])  # (y, x)
    water.water_persistence(np.array([[[0, 1], [1, 255]]], dtype=np.uint8))
    burn.dnbr_severity(np.array([[0.05, 0.3], [0.7, np.nan]], dtype=np.float32))
    units = np.array([[0, 1], [1, 2]], dtype=np.int32)
    area = np.full(units.shape, 0.0009)
    zonal.class_area_by_unit(land_cover[0], units, area, n_units=2, class_values=(1, 2, 7))
    urban.population_by_unit(np.ones(units.shape, dtype=np.float32), units, n_units=2)
    return str(zonal._accumulate.stats.cache_path)
