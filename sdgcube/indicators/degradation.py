"""Combining the SDG 15.3.1 sub-indicators: one-out-all-out, and the status of a reporting period.

Every degradation layer is int8 with the codes −1 degraded, 0 stable, 1 improved and
``CLASS_NODATA`` (−128) for no data; any other value also counts as no data.
"""

from __future__ import annotations

from typing import Final

import numpy as np

__all__ = [
    "CLASS_NODATA",
    "DEGRADED",
    "IMPROVED",
    "STABLE",
    "as_float",
    "one_out_all_out",
    "reporting_status",
]

CLASS_NODATA: Final = -128
"""The nodata sentinel of every int8 class raster of the SDG 15.3.1 kernels."""
DEGRADED: Final = -1
STABLE: Final = 0
IMPROVED: Final = 1


def _valid(layer: np.ndarray) -> np.ndarray:
    return (layer >= DEGRADED) & (layer <= IMPROVED)


def one_out_all_out(*layers: np.ndarray) -> np.ndarray:
    """int8: −1 if any layer is degraded, else 1 if any is improved, else 0; no data in any → nodata.

    The UNCCD "one out, all out" rule of SDG 15.3.1 (GPG v2), over layers of equal shape."""
    if not layers:
        raise ValueError("one_out_all_out needs at least one layer")
    stacked = np.stack([np.asarray(layer) for layer in layers])
    out = np.where((stacked == DEGRADED).any(axis=0), DEGRADED,
                   np.where((stacked == IMPROVED).any(axis=0), IMPROVED, STABLE))  # fmt: skip
    return np.where(_valid(stacked).all(axis=0), out, CLASS_NODATA).astype(np.int8)


def reporting_status(baseline: np.ndarray, reporting: np.ndarray) -> np.ndarray:
    """int8 status at the end of a reporting period from the baseline and the reporting-period layers.

    As Trends.Earth applies GPG v2: degradation in the reporting period → degraded; improvement in
    the reporting period → improved where the baseline was stable or improved, stable where it was
    degraded; a stable reporting period keeps the baseline's class. No data in either → nodata."""
    baseline = np.asarray(baseline)
    reporting = np.asarray(reporting)
    out = np.where(reporting == DEGRADED, DEGRADED,
                   np.where(reporting == IMPROVED, np.where(baseline == DEGRADED, STABLE, IMPROVED), baseline))  # fmt: skip
    return np.where(_valid(baseline) & _valid(reporting), out, CLASS_NODATA).astype(np.int8)


def as_float(classes: np.ndarray, nodata: int = CLASS_NODATA) -> np.ndarray:
    """float32 copy of a class raster with ``nodata`` as NaN (how result rasters are published)."""
    classes = np.asarray(classes)
    return np.where(classes == nodata, np.nan, classes).astype(np.float32)
