"""Per-pixel trends of an annual series: OLS and Theil–Sen slopes, the Mann–Kendall S and its
significance against the exact null distribution, and the productivity-trajectory class of SDG 15.3.1.

Arrays hold one series per pixel along the **last** axis (``values[..., t]``), float with NaN as
nodata; ``years`` (length t, ascending) are the abscissae. Every statistic uses only the years with
data: the OLS fit and the Theil–Sen slopes skip NaN, and Mann–Kendall counts only pairs in which both
values are present. As in Trends.Earth, S is compared with the critical value for n = the number of
years in the period (``years.size``), whatever the pixel's gaps.

Mann–Kendall: S = Σ_{i<j} sign(y_j − y_i). Without ties, under H0 (no trend) every ordering is
equally likely and S = N − 2·I, with N = n(n−1)/2 and I the number of inversions of a random
permutation, whose exact distribution (the Mahonian numbers) is built once by dynamic programming.
Hollander & Wolfe's table, as Trends.Earth applies it: s_c(n) is the smallest attainable s > 0 with
P(S > s) ≤ 1 − c (one-sided), and a trend is significant at confidence c when |S| ≥ s_c(n); its
direction is the sign of the slope. The table is computed exactly for n = 4…40 (it reproduces
Trends.Earth's published 90/95/99 % columns); beyond 40 years the normal approximation with continuity
correction is used, Var S = n(n−1)(2n+5)/18. Ties add 0 to S.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist
from typing import Final, Literal

import numba
import numpy as np

from sdgcube.indicators._numba import ngjit, ngjit_parallel
from sdgcube.indicators.degradation import CLASS_NODATA

__all__ = [
    "CONFIDENCE_LEVELS",
    "EXACT_TABLE_MAX_N",
    "TrajectoryParams",
    "TrajectoryResult",
    "critical_s",
    "critical_s_table",
    "kendall_s_upper_tail",
    "mann_kendall_s",
    "ols_slope",
    "theil_sen_slope",
    "trajectory",
]

CONFIDENCE_LEVELS: Final = (0.90, 0.95, 0.99)
"""The confidence levels of the published critical-value tables (one-sided, as Trends.Earth uses them)."""
EXACT_TABLE_MAX_N: Final = 40
"""Largest n with an exact critical value (Hollander & Wolfe's table); above it, the normal approximation."""

TrendMethod = Literal["ols", "theil_sen"]
_METHOD_CODES: Final = {"ols": 0, "theil_sen": 1}


# --- the exact null distribution of S -------------------------------------------------------------


@functools.cache
def _inversion_counts(n: int) -> tuple[int, ...]:
    """Number of permutations of n items with k inversions, k = 0 … n(n−1)/2 (exact integers)."""
    counts = [1]
    for m in range(2, n + 1):
        # Inserting the m-th item adds 0 … m−1 inversions: a sliding-window sum over counts.
        prefix = [0]
        for c in counts:
            prefix.append(prefix[-1] + c)
        size = len(counts) + m - 1
        counts = [prefix[min(k + 1, len(counts))] - prefix[max(0, k - m + 1)] for k in range(size)]
    return tuple(counts)


def kendall_s_upper_tail(n: int, s: int) -> Fraction:
    """P(S ≥ s) under H0 for n values without ties, exactly."""
    pairs = n * (n - 1) // 2
    if s > pairs:
        return Fraction(0)
    counts = _inversion_counts(n)
    most_inversions = min((pairs - s) // 2, len(counts) - 1)
    return Fraction(sum(counts[: most_inversions + 1]), math.factorial(n))


def _norm_confidence(confidence: float) -> Fraction:
    if not 0.5 <= confidence < 1:
        raise ValueError(f"confidence {confidence!r} must lie in [0.5, 1)")
    return Fraction(str(confidence))


@functools.cache
def critical_s(n: int, confidence: float) -> int:
    """Smallest attainable s > 0 with P(S > s) ≤ 1 − confidence; |S| ≥ s is significant.

    ``n(n−1)/2 + 2`` (larger than any |S|) for n < 2."""
    pairs = n * (n - 1) // 2
    if pairs == 0:
        return 2
    tail = 1 - _norm_confidence(confidence)
    if n > EXACT_TABLE_MAX_N:
        sigma = math.sqrt(n * (n - 1) * (2 * n + 5) / 18)
        s = math.ceil(NormalDist().inv_cdf(1 - float(tail)) * sigma - 1)
        return max(2 - pairs % 2, min(s + (s - pairs) % 2, pairs))  # S has the parity of n(n−1)/2
    s = pairs
    # P(S > s) = P(S ≥ s + 2): S moves in steps of 2.
    while s - 2 > 0 and kendall_s_upper_tail(n, s) <= tail:
        s -= 2
    return s


def critical_s_table(n_max: int, confidence: float) -> np.ndarray:
    """int64 (n_max + 1,): ``critical_s(n, confidence)`` for n = 0 … n_max."""
    return np.array([critical_s(n, confidence) for n in range(n_max + 1)], dtype=np.int64)


# --- per-series statistics ------------------------------------------------------------------------


@ngjit
def _ols(y: np.ndarray, t: np.ndarray) -> float:
    n = 0
    sum_t = 0.0
    sum_y = 0.0
    for i in range(y.size):
        if not np.isnan(y[i]):
            n += 1
            sum_t += t[i]
            sum_y += y[i]
    if n < 2:
        return np.nan
    mean_t = sum_t / n
    mean_y = sum_y / n
    sxy = 0.0
    sxx = 0.0
    for i in range(y.size):
        if not np.isnan(y[i]):
            dt = t[i] - mean_t
            sxy += dt * (y[i] - mean_y)
            sxx += dt * dt
    return sxy / sxx if sxx > 0 else np.nan


@ngjit
def _theil_sen(y: np.ndarray, t: np.ndarray) -> float:
    slopes = np.empty(y.size * (y.size - 1) // 2)
    m = 0
    for i in range(y.size):
        if np.isnan(y[i]):
            continue
        for j in range(i + 1, y.size):
            if not np.isnan(y[j]) and t[j] != t[i]:
                slopes[m] = (np.float64(y[j]) - np.float64(y[i])) / (t[j] - t[i])
                m += 1
    return np.median(slopes[:m]) if m > 0 else np.nan


@ngjit
def _mk_s(y: np.ndarray) -> tuple[int, int]:
    s = 0
    n = 0
    for i in range(y.size):
        if np.isnan(y[i]):
            continue
        n += 1
        for j in range(i + 1, y.size):
            d = y[j] - y[i]  # NaN compares False both ways: a pair without data adds nothing
            if d > 0:
                s += 1
            elif d < 0:
                s -= 1
    return s, n


@ngjit
def _trajectory_pixel(
    y: np.ndarray,
    t: np.ndarray,
    critical: np.ndarray,
    method: int,
    threshold: float,
    min_years: int,
) -> tuple[float, int, int, int]:
    s, n = _mk_s(y)
    if n < min_years:
        return np.nan, s, n, CLASS_NODATA
    slope = _ols(y, t) if method == 0 else _theil_sen(y, t)
    trend = 0
    if abs(s) >= critical[y.size]:
        if slope < -threshold:
            trend = -1
        elif slope > threshold:
            trend = 1
    return slope, s, n, trend


@ngjit
def _trajectory_rows(
    values: np.ndarray, t: np.ndarray, critical: np.ndarray, method: int, threshold: float, min_years: int,
    slope: np.ndarray, s: np.ndarray, n: np.ndarray, trend: np.ndarray,
) -> None:  # fmt: skip
    for p in range(values.shape[0]):
        slope[p], s[p], n[p], trend[p] = _trajectory_pixel(
            values[p], t, critical, method, threshold, min_years
        )


@ngjit_parallel
def _trajectory_rows_parallel(
    values: np.ndarray, t: np.ndarray, critical: np.ndarray, method: int, threshold: float, min_years: int,
    slope: np.ndarray, s: np.ndarray, n: np.ndarray, trend: np.ndarray,
) -> None:  # fmt: skip
    for p in numba.prange(values.shape[0]):
        slope[p], s[p], n[p], trend[p] = _trajectory_pixel(
            values[p], t, critical, method, threshold, min_years
        )


@ngjit
def _slope_rows(values: np.ndarray, t: np.ndarray, method: int, out: np.ndarray) -> None:
    for p in range(values.shape[0]):
        out[p] = _ols(values[p], t) if method == 0 else _theil_sen(values[p], t)


@ngjit
def _mk_rows(values: np.ndarray, s: np.ndarray, n: np.ndarray) -> None:
    for p in range(values.shape[0]):
        s[p], n[p] = _mk_s(values[p])


def _rows(values: np.ndarray, years: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values)
    if values.ndim == 0 or not np.issubdtype(values.dtype, np.floating):
        raise ValueError(
            f"values must be a float array with the years on the last axis, not {values.dtype} {values.shape}"
        )
    t = (
        np.arange(values.shape[-1], dtype=np.float64)
        if years is None
        else np.asarray(years, dtype=np.float64)
    )
    if t.shape != values.shape[-1:]:
        raise ValueError(f"{t.size} years for series of length {values.shape[-1]}")
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise ValueError("years must be strictly increasing")
    return np.ascontiguousarray(values).reshape(-1, values.shape[-1]), t


def ols_slope(values: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Least-squares slope of each series on ``years`` (units of ``values`` per year), float64.

    b = Σ(t − t̄)(y − ȳ) / Σ(t − t̄)² over the years with data; NaN with fewer than two."""
    rows, t = _rows(values, years)
    out = np.empty(rows.shape[0])
    _slope_rows(rows, t, 0, out)
    return out.reshape(np.shape(values)[:-1])


def theil_sen_slope(values: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Theil–Sen slope: the median of (y_j − y_i)/(t_j − t_i) over pairs i < j with data, float64.

    NaN where no pair has data (as ``scipy.stats.theilslopes`` on the valid values)."""
    rows, t = _rows(values, years)
    out = np.empty(rows.shape[0])
    _slope_rows(rows, t, 1, out)
    return out.reshape(np.shape(values)[:-1])


def mann_kendall_s(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mann–Kendall S = Σ_{i<j} sign(y_j − y_i) over pairs with data (int32) and the number of
    values with data n (int16), per series; the series must be in time order."""
    rows, _ = _rows(values)
    s = np.empty(rows.shape[0], dtype=np.int32)
    n = np.empty(rows.shape[0], dtype=np.int16)
    _mk_rows(rows, s, n)
    shape = np.shape(values)[:-1]
    return s.reshape(shape), n.reshape(shape)


@dataclass(frozen=True)
class TrajectoryParams:
    """How a slope and its Mann–Kendall significance become the trajectory class (Trends.Earth defaults)."""

    method: TrendMethod = "ols"
    """Slope estimator: ordinary least squares (Trends.Earth) or Theil–Sen."""
    confidence: float = 0.95
    """Two-sided confidence the Mann–Kendall S must reach to call a trend degrading or improving."""
    slope_threshold: float = 0.001
    """|slope| ≤ this (units of the values per year; NDVI/yr) is no trend."""
    min_years: int = 4
    """Fewer years with data than this is nodata (4 is the smallest n of the exact table)."""

    def __post_init__(self) -> None:
        if self.method not in _METHOD_CODES:
            raise ValueError(f"method {self.method!r} is not one of {sorted(_METHOD_CODES)}")
        _norm_confidence(self.confidence)
        if self.slope_threshold < 0 or self.min_years < 2:
            raise ValueError(
                f"slope_threshold {self.slope_threshold} must be ≥ 0 and min_years {self.min_years} ≥ 2"
            )


@dataclass(frozen=True)
class TrajectoryResult:
    slope: np.ndarray
    """float32, units of the values per year; NaN where nodata."""
    s: np.ndarray
    """int32 Mann–Kendall S over the pairs with data."""
    n: np.ndarray
    """int16 number of years with data."""
    trend: np.ndarray
    """int8: −1 degrading, 0 no significant trend, 1 improving, ``CLASS_NODATA`` (−128) with fewer
    than ``min_years`` years of data."""


def trajectory(
    values: np.ndarray,
    years: np.ndarray,
    *,
    params: TrajectoryParams = TrajectoryParams(),
    parallel: bool = False,
) -> TrajectoryResult:
    """Productivity trajectory of each series (e.g. annual NDVI), one pass per pixel.

    trend = −1 if slope < −threshold and |S| ≥ s_c(n); +1 if slope > threshold and |S| ≥ s_c(n); else 0,
    with n the number of years of the period and s_c the critical S at ``params.confidence`` (Trends.Earth's
    rule). ``parallel`` spreads the pixels over numba's threads (not for use inside Dask tasks, which are
    parallel already)."""
    rows, t = _rows(values, years)
    critical = critical_s_table(t.size, params.confidence)
    count = rows.shape[0]
    slope = np.empty(count, dtype=np.float32)
    s = np.empty(count, dtype=np.int32)
    n = np.empty(count, dtype=np.int16)
    trend = np.empty(count, dtype=np.int8)
    kernel = _trajectory_rows_parallel if parallel else _trajectory_rows
    kernel(rows, t, critical, _METHOD_CODES[params.method], float(params.slope_threshold), int(params.min_years),
           slope, s, n, trend)  # fmt: skip
    shape = np.shape(values)[:-1]
    return TrajectoryResult(
        slope.reshape(shape), s.reshape(shape), n.reshape(shape), trend.reshape(shape)
    )
