"""Burnt-area kernels: NBR, dNBR and burn-severity classes (Key & Benson 2006, USGS FIREMON).

    NBR  = (NIR − SWIR2) / (NIR + SWIR2)        any common reflectance scale (it cancels)
    dNBR = NBR_pre − NBR_post                    positive where vegetation burnt

Severity classes of dNBR (int8 codes; each class includes its lower bound):

======  ===================  =====================
code    class                dNBR
======  ===================  =====================
  -1    enhanced regrowth    < −0.1
   0    unburned             −0.1 ≤ dNBR < 0.1
   1    low                  0.1 ≤ dNBR < 0.27
   2    moderate-low         0.27 ≤ dNBR < 0.44
   3    moderate-high        0.44 ≤ dNBR < 0.66
   4    high                 ≥ 0.66
-128    no data              NaN (NBR missing in either image)
======  ===================  =====================

Burnt = low and above (code ≥ 1). Thresholds are compared in the dtype of the dNBR array, so a
float32 dNBR equal to float32(0.1) is low, exactly as a float64 0.1 is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sdgcube.indicators._numba import ngjit

__all__ = [
    "BURNT_CLASSES",
    "CLASS_NAMES",
    "DNBR_BOUNDS",
    "ENHANCED_REGROWTH",
    "HIGH",
    "LOW",
    "MODERATE_HIGH",
    "MODERATE_LOW",
    "NODATA",
    "UNBURNED",
    "burnt",
    "dnbr",
    "dnbr_severity",
    "nbr",
]

ENHANCED_REGROWTH = -1
UNBURNED = 0
LOW = 1
MODERATE_LOW = 2
MODERATE_HIGH = 3
HIGH = 4
NODATA = -128

DNBR_BOUNDS: tuple[float, ...] = (-0.1, 0.1, 0.27, 0.44, 0.66)
"""Lower bounds of unburned, low, moderate-low, moderate-high and high."""

CLASS_NAMES: dict[int, str] = {
    ENHANCED_REGROWTH: "enhanced_regrowth",
    UNBURNED: "unburned",
    LOW: "low",
    MODERATE_LOW: "moderate_low",
    MODERATE_HIGH: "moderate_high",
    HIGH: "high",
}
BURNT_CLASSES: tuple[int, ...] = (LOW, MODERATE_LOW, MODERATE_HIGH, HIGH)


def nbr(nir: np.ndarray, swir2: np.ndarray) -> np.ndarray:
    """float32 Normalised Burn Ratio; NaN where either band is NaN or NIR + SWIR2 = 0."""
    n = np.asarray(nir, dtype=np.float32)
    s = np.asarray(swir2, dtype=np.float32)
    total = n + s
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total != 0, (n - s) / total, np.float32(np.nan)).astype(np.float32)


def dnbr(nbr_pre: np.ndarray, nbr_post: np.ndarray) -> np.ndarray:
    """dNBR = NBR_pre − NBR_post, in the dtype of the inputs; NaN where either is NaN."""
    return np.asarray(nbr_pre) - np.asarray(nbr_post)


@ngjit
def _severity(values: np.ndarray, bounds: np.ndarray, out: np.ndarray) -> None:
    for i in range(values.size):
        value = values.flat[i]
        if np.isnan(value):
            out.flat[i] = NODATA
            continue
        code = ENHANCED_REGROWTH
        for bound in bounds:
            if value >= bound:
                code += 1
        out.flat[i] = code


def dnbr_severity(values: np.ndarray, *, bounds: Sequence[float] = DNBR_BOUNDS) -> np.ndarray:
    """int8 severity class of each dNBR value (codes in the module doc; NaN gives -128).

    ``bounds`` are the five ascending lower bounds of unburned … high, in dNBR units."""
    data = np.asarray(values)
    if not np.issubdtype(data.dtype, np.floating):
        raise ValueError(f"dNBR must be a floating-point array, not {data.dtype}")
    limits = np.asarray(bounds, dtype=data.dtype)
    if limits.shape != (len(DNBR_BOUNDS),) or np.any(np.diff(limits) <= 0):
        raise ValueError(
            f"bounds {list(bounds)} must be {len(DNBR_BOUNDS)} strictly ascending values"
        )
    out = np.empty(data.shape, dtype=np.int8)
    _severity(np.ascontiguousarray(data), limits, out)
    return out


def burnt(classes: np.ndarray) -> np.ndarray:
    """bool: burnt (low severity or above); no data is not burnt."""
    codes = np.asarray(classes)
    return (codes >= LOW) & (codes <= HIGH)
