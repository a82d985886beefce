"""Land-cover degradation for SDG 15.3.1: a transition of the 7-class UNCCD legend read through a
degradation matrix.

Classes: 1 tree-covered, 2 grassland, 3 cropland, 4 wetland, 5 artificial, 6 other land, 7 water
body; anything else (0, NaN, 255 …) is no data. The matrix row is the baseline class, the column the
target class; its cells are −1 degraded, 0 stable, 1 improved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from sdgcube.indicators.degradation import CLASS_NODATA

__all__ = [
    "UNCCD_CLASSES",
    "UNCCD_TRANSITION_MATRIX",
    "WATER_BODY",
    "land_cover_degradation",
    "norm_transition_matrix",
]

UNCCD_CLASSES: Final = (
    "tree-covered",
    "grassland",
    "cropland",
    "wetland",
    "artificial",
    "other land",
    "water body",
)
WATER_BODY: Final = 7


def norm_transition_matrix(matrix: Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    """A read-only int8 (7, 7) matrix of −1/0/1; ValueError naming the first bad cell otherwise."""
    array = np.asarray(matrix)
    size = len(UNCCD_CLASSES)
    if array.shape != (size, size):
        raise ValueError(
            f"transition matrix must be {size}×{size} (UNCCD legend), not {array.shape}"
        )
    bad = np.argwhere(~np.isin(array, (-1, 0, 1)))
    if bad.size:
        row, col = bad[0]
        raise ValueError(
            f"transition matrix cell [{row}][{col}] is {array[row, col].item()!r}, not -1, 0 or 1"
        )
    out = array.astype(np.int8)
    out.flags.writeable = False
    return out


UNCCD_TRANSITION_MATRIX: Final = norm_transition_matrix(
    [
        # to: tree grass crop wet  art  other water      from:
        [0, -1, -1, -1, -1, -1, 0],  # tree-covered
        [1, 0, 1, -1, -1, -1, 0],  # grassland
        [1, -1, 0, -1, -1, -1, 0],  # cropland
        [-1, -1, -1, 0, -1, -1, 0],  # wetland
        [1, 1, 1, 1, 0, 1, 0],  # artificial
        [1, 1, 1, 1, -1, 0, 0],  # other land
        [0, 0, 0, 0, 0, 0, 0],  # water body
    ]
)
"""The default UNCCD/Trends.Earth degradation matrix (rows baseline, columns target)."""


def _codes(classes: np.ndarray) -> np.ndarray:
    """int64 class codes; NaN and values that are not integers become 0 (no data)."""
    classes = np.asarray(classes)
    if classes.dtype.kind == "f":
        classes = np.where(np.isfinite(classes) & (classes == np.round(classes)), classes, 0)
    return classes.astype(np.int64)


def land_cover_degradation(
    baseline: np.ndarray, target: np.ndarray, *, matrix: np.ndarray = UNCCD_TRANSITION_MATRIX
) -> np.ndarray:
    """int8 −1/0/1 = ``matrix[baseline − 1, target − 1]``; −128 where either class is outside 1–7."""
    b, t = _codes(baseline), _codes(target)
    if b.shape != t.shape:
        raise ValueError(f"baseline {b.shape} and target {t.shape} land cover differ in shape")
    matrix = norm_transition_matrix(matrix)
    size = matrix.shape[0]
    valid = (b >= 1) & (b <= size) & (t >= 1) & (t <= size)
    looked_up = matrix[np.where(valid, b - 1, 0), np.where(valid, t - 1, 0)]
    return np.where(valid, looked_up, CLASS_NODATA).astype(np.int8)
