"""SDG 6.6.1 water kernels: permanent and seasonal water from sub-annual observations.

An observation stack is ``(time, y, x)`` of water codes: 0 dry, 1 water; any other value (the
product's nodata, 255 for ``surface_water``) is no observation. Over the observations of one year:

* permanent water (``PERMANENT`` = 2): water in every valid observation;
* seasonal water (``SEASONAL`` = 1): water in some valid observations, but not all;
* not water (``NOT_WATER`` = 0): valid observations, none of them water;
* no data (``NODATA`` = -1): no valid observation in the year.

Observations may also come from a water index such as MNDWI = (green − SWIR1) / (green + SWIR1):
``water_from_index`` thresholds it (water where index > threshold) into the same 0/1 codes.
"""

from __future__ import annotations

import numpy as np

from sdgcube.indicators._numba import ngjit

__all__ = [
    "NODATA",
    "NOT_WATER",
    "OBSERVATION_NODATA",
    "PERMANENT",
    "SEASONAL",
    "mndwi",
    "percent_change",
    "water_from_index",
    "water_persistence",
]

NOT_WATER = 0
SEASONAL = 1
PERMANENT = 2
NODATA = -1
"""Class codes (int8) of ``water_persistence``."""

OBSERVATION_NODATA = 255
"""No-observation code (uint8) of ``water_from_index``, as in the ``surface_water`` product."""


@ngjit
def _persistence(obs: np.ndarray, out: np.ndarray) -> None:
    n_time, n_pixels = obs.shape
    for i in range(n_pixels):
        valid = 0
        wet = 0
        for t in range(n_time):
            value = obs[t, i]
            if value == 0:
                valid += 1
            elif value == 1:
                valid += 1
                wet += 1
        if valid == 0:
            out[i] = NODATA
        elif wet == valid:
            out[i] = PERMANENT
        elif wet > 0:
            out[i] = SEASONAL
        else:
            out[i] = NOT_WATER


def water_persistence(observations: np.ndarray) -> np.ndarray:
    """int8 ``(y, x)`` water class of a year's ``(time, y, x)`` observations (codes in the module doc).

    ``observations`` holds integer codes, 0 dry and 1 water; every other value is no observation,
    so the product's nodata needs no argument."""
    if observations.ndim != 3:
        raise ValueError(f"observations must be (time, y, x), not {observations.ndim}-D")
    if not np.issubdtype(observations.dtype, np.integer):
        raise ValueError(f"observations must be integer water codes, not {observations.dtype}")
    n_time, ny, nx = observations.shape
    out = np.empty(ny * nx, dtype=np.int8)
    _persistence(np.ascontiguousarray(observations.reshape(n_time, ny * nx)), out)
    return out.reshape(ny, nx)


def mndwi(green: np.ndarray, swir1: np.ndarray) -> np.ndarray:
    """float32 Modified Normalised Difference Water Index (green − SWIR1) / (green + SWIR1).

    Reflectances in any common scale (the scale cancels); NaN where either is NaN or the sum is 0."""
    g = np.asarray(green, dtype=np.float32)
    s = np.asarray(swir1, dtype=np.float32)
    total = g + s
    with np.errstate(divide="ignore", invalid="ignore"):
        index = np.where(total != 0, (g - s) / total, np.float32(np.nan))
    return index.astype(np.float32)


def water_from_index(index: np.ndarray, *, threshold: float = 0.0) -> np.ndarray:
    """uint8 water codes from a water index: 1 where index > threshold, 0 where not, 255 where NaN."""
    values = np.asarray(index)
    codes = np.where(values > threshold, 1, 0).astype(np.uint8)
    codes[np.isnan(values)] = OBSERVATION_NODATA
    return codes


def percent_change(baseline: np.ndarray | float, reporting: np.ndarray | float) -> np.ndarray:
    """float64 (reporting − baseline) / baseline × 100, in percent; NaN where baseline is 0 or NaN."""
    b = np.asarray(baseline, dtype=np.float64)
    r = np.asarray(reporting, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, (r - b) / b * 100.0, np.nan)
