"""Zonal sums: area of each class inside each reporting unit.

Inputs are plain arrays: a class raster, a unit-index raster (0 = outside every unit, i = unit
i - 1) and the area of each pixel in km². Classes are small integers; values outside
``class_values`` are not counted (e.g. nodata).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sdgcube.indicators._numba import ngjit

__all__ = ["class_area_by_unit"]


@ngjit
def _accumulate(classes: np.ndarray, units: np.ndarray, area: np.ndarray, lookup: np.ndarray,
                out: np.ndarray) -> None:  # fmt: skip
    for i in range(classes.size):
        unit = units.flat[i]
        if unit <= 0 or unit > out.shape[0]:
            continue
        value = classes.flat[i]
        if value < 0 or value >= lookup.size:
            continue
        column = lookup[value]
        if column >= 0:
            out[unit - 1, column] += area.flat[i]


def class_area_by_unit(
    classes: np.ndarray,
    units: np.ndarray,
    area_km2: np.ndarray,
    *,
    n_units: int,
    class_values: Sequence[int],
) -> np.ndarray:
    """km² per (unit, class), shape (n_units, len(class_values)); classes as given, in that order.

    ``classes`` may be any integer type; negative class values are shifted so that -1/0/1 style
    codes work (the lookup covers min(class_values) … max(class_values))."""
    if classes.shape != units.shape or classes.shape != area_km2.shape:
        raise ValueError(
            f"shapes differ: classes {classes.shape}, units {units.shape}, area {area_km2.shape}"
        )
    offset = min(class_values)
    lookup = np.full(max(class_values) - offset + 1, -1, dtype=np.int64)
    for column, value in enumerate(class_values):
        lookup[value - offset] = column
    out = np.zeros((n_units, len(class_values)), dtype=np.float64)
    shifted = classes.astype(np.int64) - offset
    _accumulate(shifted, units.astype(np.int64), area_km2.astype(np.float64), lookup, out)
    return out
