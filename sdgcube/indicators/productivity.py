"""Land productivity for SDG 15.3.1 as Trends.Earth applies UNCCD GPG v2: state, performance, and
the five land-productivity-dynamics (LPD) classes from trajectory, state and performance.

NDVI (unitless, −1…1) comes as float with NaN for nodata; series lie along the last axis. Class
rasters are int8 with ``CLASS_NODATA`` (−128) for no data. The trajectory is in
:mod:`sdgcube.indicators.trend`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numba
import numpy as np

from sdgcube.indicators._numba import ngjit, ngjit_parallel
from sdgcube.indicators.degradation import CLASS_NODATA, DEGRADED, IMPROVED, STABLE
from sdgcube.indicators.percentile import UnitHistogram, gather_values, rank_bins, unit_references

__all__ = [
    "LPD_DECLINING", "LPD_EARLY_DECLINE", "LPD_INCREASING", "LPD_STABLE", "LPD_STRESSED",
    "PerformanceParams", "StateParams", "decile_class", "decile_thresholds", "land_units", "lpd_class",
    "lpd_degradation", "performance_class", "performance_ratio", "productivity_state", "ratio_to_reference",
]  # fmt: skip

LPD_DECLINING: Final = 1
LPD_EARLY_DECLINE: Final = 2
LPD_STRESSED: Final = 3
LPD_STABLE: Final = 4
LPD_INCREASING: Final = 5


# --- state ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateParams:
    """Productivity state (Trends.Earth defaults)."""

    range_extension: float = 0.05
    """The baseline sample gets two extra values, min − e·range and max + e·range, before its deciles."""
    min_difference: float = 0.01
    """Means of the two periods differing by at most this (NDVI) are no change."""
    class_change: int = 2
    """A change of the decile class by ≤ −this is degraded, by ≥ this improved."""
    min_baseline_years: int = 2
    """Fewer baseline years with data than this (or no recent year with data) is nodata."""


@ngjit
def _percentile_sorted(sorted_values: np.ndarray, q: float) -> float:
    """Linear-interpolation percentile (numpy's default) of an ascending, NaN-free sample."""
    position = q / 100.0 * (sorted_values.size - 1)
    low = int(np.floor(position))
    high = min(low + 1, sorted_values.size - 1)
    return float(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low))


@ngjit
def decile_thresholds(sample: np.ndarray, range_extension: float) -> np.ndarray:
    """The 10th … 90th percentiles of the NaN-free ``sample`` plus min − e·range and max + e·range."""
    valid = sample[~np.isnan(sample)]
    lo = valid.min()
    hi = valid.max()
    widened = np.empty(valid.size + 2)
    widened[: valid.size] = valid
    widened[valid.size] = lo - range_extension * (hi - lo)
    widened[valid.size + 1] = hi + range_extension * (hi - lo)
    widened.sort()
    out = np.empty(9)
    for k in range(9):
        out[k] = _percentile_sorted(widened, 10.0 * (k + 1))
    return out


@ngjit
def decile_class(value: float, thresholds: np.ndarray) -> int:
    """1 if value ≤ p10, k if p(10(k−1)) < value ≤ p(10k), 10 if value > p90."""
    klass = 1
    for k in range(thresholds.size):
        if value > thresholds[k]:
            klass += 1
    return klass


@ngjit
def _state_pixel(baseline: np.ndarray, recent: np.ndarray, extension: float, min_difference: float,
                 class_change: int, min_baseline: int) -> int:  # fmt: skip
    n_base = 0
    for v in baseline:
        n_base += not np.isnan(v)
    n_recent = 0
    for v in recent:
        n_recent += not np.isnan(v)
    if n_base < min_baseline or n_recent == 0:
        return CLASS_NODATA
    mean_base = np.nanmean(baseline)
    mean_recent = np.nanmean(recent)
    # The means come from float32 NDVI: a difference of exactly min_difference must count as none.
    if abs(mean_recent - mean_base) <= min_difference + 1e-7:
        return STABLE
    thresholds = decile_thresholds(baseline, extension)
    change = decile_class(mean_recent, thresholds) - decile_class(mean_base, thresholds)
    if change <= -class_change:
        return DEGRADED
    if change >= class_change:
        return IMPROVED
    return STABLE


@ngjit
def _state_rows(
    baseline: np.ndarray, recent: np.ndarray, extension: float, min_difference: float, class_change: int,
    min_baseline: int, out: np.ndarray,
) -> None:  # fmt: skip
    for p in range(baseline.shape[0]):
        out[p] = _state_pixel(
            baseline[p], recent[p], extension, min_difference, class_change, min_baseline
        )


@ngjit_parallel
def _state_rows_parallel(
    baseline: np.ndarray, recent: np.ndarray, extension: float, min_difference: float, class_change: int,
    min_baseline: int, out: np.ndarray,
) -> None:  # fmt: skip
    for p in numba.prange(baseline.shape[0]):
        out[p] = _state_pixel(
            baseline[p], recent[p], extension, min_difference, class_change, min_baseline
        )


def productivity_state(
    baseline: np.ndarray,
    recent: np.ndarray,
    *,
    params: StateParams = StateParams(),
    parallel: bool = False,
) -> np.ndarray:
    """int8 productivity state per pixel: −1 degraded, 0 stable, 1 improved, −128 nodata.

    ``baseline`` (…, years of the baseline) and ``recent`` (…, years of the comparison) hold annual
    NDVI. Deciles come from each pixel's baseline years (range widened by ``range_extension`` at each
    end); Δ = class(mean recent) − class(mean baseline); Δ ≤ −2 degraded, Δ ≥ 2 improved, and no
    change where the two means differ by ≤ ``min_difference``."""
    baseline = np.asarray(baseline, dtype=np.float64)
    recent = np.asarray(recent, dtype=np.float64)
    if baseline.shape[:-1] != recent.shape[:-1]:
        raise ValueError(
            f"baseline {baseline.shape} and recent {recent.shape} differ in their pixel axes"
        )
    shape = baseline.shape[:-1]
    base_rows = np.ascontiguousarray(baseline).reshape(-1, baseline.shape[-1])
    recent_rows = np.ascontiguousarray(recent).reshape(-1, recent.shape[-1])
    out = np.empty(base_rows.shape[0], dtype=np.int8)
    kernel = _state_rows_parallel if parallel else _state_rows
    kernel(base_rows, recent_rows, float(params.range_extension), float(params.min_difference),
           int(params.class_change), int(params.min_baseline_years), out)  # fmt: skip
    return out.reshape(shape)


# --- performance ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PerformanceParams:
    """Productivity performance (Trends.Earth defaults)."""

    percentile: float = 90.0
    """The reference: this percentile of the period's mean NDVI among the pixels of a land unit."""
    threshold: float = 0.5
    """mean ÷ reference ≤ this is degraded."""


def land_units(land_cover: np.ndarray, ecological_units: np.ndarray | None = None) -> np.ndarray:
    """int64 land-unit code of each pixel: land-cover class × ecological (e.g. soil) unit; −1 nodata.

    Classes and units are non-negative integers; NaN or negative values in either are nodata."""
    lc = np.asarray(land_cover, dtype=np.float64)
    valid = np.isfinite(lc) & (lc >= 0)
    code = np.where(valid, lc, 0).astype(np.int64)
    if ecological_units is not None:
        eco = np.asarray(ecological_units, dtype=np.float64)
        valid &= np.isfinite(eco) & (eco >= 0)
        code = code * (1 << 32) + np.where(valid, eco, 0).astype(np.int64)
    return np.where(valid, code, -1)


def performance_ratio(
    mean_ndvi: np.ndarray, units: np.ndarray, *, percentile: float = 90.0
) -> np.ndarray:
    """float32 mean NDVI ÷ the ``percentile`` (linear interpolation) of mean NDVI among the pixels of
    the same land unit; NaN where the mean is NaN, the unit is negative (nodata) or the reference ≤ 0.

    The whole raster at once; a raster in blocks runs the passes of :mod:`.percentile` over its
    blocks and then ``ratio_to_reference`` per block, with the same result."""
    mean, units = np.asarray(mean_ndvi, dtype=np.float64), np.asarray(units)
    histogram = UnitHistogram.of(mean, units)
    ranks = rank_bins(histogram, percentile)
    references = unit_references(ranks, [gather_values(mean, units, ranks)])
    return ratio_to_reference(mean, units, ranks.codes, references)


def ratio_to_reference(
    mean_ndvi: np.ndarray, units: np.ndarray, codes: np.ndarray, references: np.ndarray
) -> np.ndarray:
    """float32 mean NDVI ÷ its land unit's reference (``references[i]`` for unit ``codes[i]``,
    codes sorted); NaN where the mean is NaN, the unit unknown or negative, or the reference ≤ 0."""
    mean, units = np.asarray(mean_ndvi, dtype=np.float64), np.asarray(units)
    if mean.shape != units.shape:
        raise ValueError(f"mean NDVI {mean.shape} and land units {units.shape} differ in shape")
    ratio = np.full(mean.shape, np.nan, dtype=np.float32)
    if codes.size == 0:
        return ratio
    index = np.clip(np.searchsorted(codes, units), 0, codes.size - 1)
    valid = np.isfinite(mean) & (units >= 0) & (codes[index] == units)
    reference = references[index[valid]]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio[valid] = np.where(reference > 0, mean[valid] / reference, np.nan)
    return ratio


def performance_class(ratio: np.ndarray, *, threshold: float = 0.5) -> np.ndarray:
    """int8: −1 (degraded) where ratio ≤ ``threshold``, 0 otherwise, −128 where the ratio is NaN."""
    ratio = np.asarray(ratio)
    return np.where(
        np.isnan(ratio), CLASS_NODATA, np.where(ratio <= threshold, DEGRADED, STABLE)
    ).astype(np.int8)


# --- land productivity dynamics ---------------------------------------------------------------------


def _lpd_lookup() -> np.ndarray:
    """LPD class for index (trajectory + 1)·9 + (state + 1)·3 + (performance + 1)."""
    table = np.empty((3, 3, 3), dtype=np.int8)
    table[0], table[1], table[2] = LPD_DECLINING, LPD_STABLE, LPD_INCREASING
    table[1, 1, 0] = LPD_STRESSED  # (0, 0, −1)
    table[2, 0, 0] = LPD_EARLY_DECLINE  # (1, −1, −1)
    table[1, 0, 1] = LPD_EARLY_DECLINE  # (0, −1, 0)
    table[1, 0, 0] = LPD_DECLINING  # (0, −1, −1)
    table.flags.writeable = False
    return table.reshape(-1)


_LPD: Final = _lpd_lookup()


def lpd_class(trajectory: np.ndarray, state: np.ndarray, performance: np.ndarray) -> np.ndarray:
    """int8 land-productivity dynamics: 1 declining, 2 early decline, 3 stable but stressed, 4 stable,
    5 increasing; −128 where any input is nodata.

    From the trajectory −1→1, 0→4, +1→5, then for (trajectory, state, performance): (0, 0, −1)→3,
    (1, −1, −1)→2, (0, −1, 0)→2, (0, −1, −1)→1 (Trends.Earth's ``calc_prod5``)."""
    arrays = [np.asarray(a) for a in (trajectory, state, performance)]
    finite = np.logical_and.reduce(
        [np.isfinite(a) if a.dtype.kind == "f" else np.ones(a.shape, bool) for a in arrays]
    )
    t, s, p = (
        np.where(finite, a, CLASS_NODATA).astype(np.int16) for a in arrays
    )  # NaN is nodata, not 0
    valid = finite & (t >= -1) & (t <= 1) & (s >= -1) & (s <= 1) & (p >= -1) & (p <= 1)
    index = np.where(valid, (t + 1) * 9 + (s + 1) * 3 + (p + 1), 0)
    return np.where(valid, _LPD[index], CLASS_NODATA).astype(np.int8)


def lpd_degradation(lpd: np.ndarray) -> np.ndarray:
    """int8 −1 for LPD 1–2 (degraded), 0 for 3–4 (stable), 1 for 5 (improved), −128 otherwise.

    Float input (a user's LPD raster with NaN nodata) is accepted; non-integral values are nodata."""
    lpd = np.asarray(lpd)
    codes = (
        np.where(np.isfinite(lpd) & (lpd == np.round(lpd)), lpd, 0)
        if lpd.dtype.kind == "f"
        else lpd
    )
    codes = np.asarray(codes).astype(np.int64)
    out = np.full(codes.shape, CLASS_NODATA, dtype=np.int8)
    out[(codes == LPD_DECLINING) | (codes == LPD_EARLY_DECLINE)] = DEGRADED
    out[(codes == LPD_STRESSED) | (codes == LPD_STABLE)] = STABLE
    out[codes == LPD_INCREASING] = IMPROVED
    return out
