"""Trend kernels against independent references: OLS slope vs ``scipy.stats.linregress``, Theil–Sen vs
``scipy.stats.theilslopes``, Mann–Kendall S vs a direct O(n²) count, the critical values vs published
table entries and scipy's exact Kendall p-values, and the trajectory class on hand-made series."""

from __future__ import annotations

import functools
import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from sdgcube.indicators.degradation import CLASS_NODATA
from sdgcube.indicators.trend import (
    CONFIDENCE_LEVELS,
    TrajectoryParams,
    _inversion_counts,
    critical_s,
    critical_s_table,
    kendall_s_upper_tail,
    mann_kendall_s,
    ols_slope,
    theil_sen_slope,
    trajectory,
)

YEARS = np.arange(2000, 2016)


def _stack(seed: int, pixels: int = 400, nan_fraction: float = 0.15) -> np.ndarray:
    """Annual NDVI-like series with random trends and noise, some years missing."""
    rng = np.random.default_rng(seed)
    slopes = rng.uniform(-0.02, 0.02, size=(pixels, 1))
    values = 0.5 + slopes * (YEARS - YEARS[0]) + rng.normal(0, 0.03, size=(pixels, YEARS.size))
    values[rng.random(values.shape) < nan_fraction] = np.nan
    values[0] = np.nan  # a pixel without any data
    values[1, 2:] = np.nan  # two years only
    return values.astype(np.float32)


def _s_direct(y: np.ndarray) -> int:
    return sum(int(np.sign(y[j] - y[i])) for i, j in itertools.combinations(range(y.size), 2)
               if not (np.isnan(y[i]) or np.isnan(y[j])))  # fmt: skip


# --- the exact null distribution and critical values -----------------------------------------------


def test_inversion_counts_are_the_mahonian_numbers():
    assert _inversion_counts(1) == (1,)
    assert _inversion_counts(3) == (1, 2, 2, 1)
    assert _inversion_counts(4) == (1, 3, 5, 6, 5, 3, 1)
    for n in (5, 12, 40):
        counts = _inversion_counts(n)
        assert sum(counts) == math.factorial(n) and counts == counts[::-1]


@pytest.mark.parametrize(
    ("n", "s", "published"),
    [(4, 6, 0.042), (4, 4, 0.167), (5, 10, 0.0083), (5, 8, 0.042), (10, 21, 0.036), (10, 23, 0.023),
     (10, 25, 0.014), (10, 29, 0.0046)],
)  # fmt: skip
def test_upper_tail_matches_published_table(n, s, published):
    """P(S ≥ s) of the Mann–Kendall table (Hollander & Wolfe A.30; Gilbert 1987 A18), 2–3 digits."""
    assert float(kendall_s_upper_tail(n, s)) == pytest.approx(published, rel=0.03)


def test_upper_tail_edges():
    assert kendall_s_upper_tail(6, 15) == Fraction(1, math.factorial(6))
    assert kendall_s_upper_tail(6, 17) == 0
    assert kendall_s_upper_tail(6, -15) == 1


# Hollander & Wolfe's one-sided table at 90 % for n = 4 … 23, the column Trends.Earth applies.
PUBLISHED_90 = [4, 6, 7, 9, 10, 12, 15, 17, 18, 22, 23, 27, 28, 32, 35, 37, 40, 42, 45, 49]


def test_critical_values_reproduce_the_published_table():
    assert [critical_s(n, 0.90) for n in range(4, 24)] == PUBLISHED_90


@pytest.mark.parametrize(
    ("n", "confidence", "expected"), [(10, 0.95, 19), (16, 0.95, 36), (4, 0.99, 6), (3, 0.90, 3)]
)
def test_critical_values(n, confidence, expected):
    assert critical_s(n, confidence) == expected


def _series_with_s(n: int, s: int) -> np.ndarray:
    """A permutation of 0 … n−1 whose Mann–Kendall S is s (built from a Lehmer code)."""
    inversions = (n * (n - 1) // 2 - s) // 2
    code = []
    for i in range(n):
        c = min(inversions, n - 1 - i)
        code.append(c)
        inversions -= c
    pool = list(range(n))
    values = [pool.pop(c) for c in code]
    return np.array(values, dtype=float)


@pytest.mark.parametrize("n", [4, 5, 6, 9, 10, 13, 16, 21, 25, 32, 40])
@pytest.mark.parametrize("confidence", CONFIDENCE_LEVELS)
def test_critical_values_agree_with_scipy_exact_p(n, confidence):
    """s_c is the smallest s with P(S > s) ≤ α one-sided (half scipy's exact two-sided p of S = s + 2)."""
    critical = critical_s(n, confidence)
    alpha = 1 - confidence
    pairs = n * (n - 1) // 2

    def one_sided_above(s: int) -> float:
        if s + 2 > pairs:
            return 0.0
        y = _series_with_s(n, s + 2)
        assert _s_direct(y) == s + 2
        return stats.kendalltau(np.arange(n), y, method="exact").pvalue / 2

    assert one_sided_above(critical) <= alpha + 1e-12
    if critical - 2 > 0:
        assert one_sided_above(critical - 2) > alpha


def test_beyond_the_table_the_normal_approximation_continues_smoothly():
    for level in CONFIDENCE_LEVELS:
        exact, approximate = critical_s(40, level), critical_s(41, level)
        assert 0 < approximate - exact <= 12
        assert (approximate - 41 * 40 // 2) % 2 == 0
    table = critical_s_table(45, 0.95)
    assert table.dtype == np.int64 and table.shape == (46,)
    assert table[10] == 19 and table[4] == 4


def test_confidence_outside_the_range_is_refused():
    with pytest.raises(ValueError, match=r"confidence 1\.5"):
        critical_s(10, 1.5)


# --- slopes and S against scipy --------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ols_slope_matches_linregress(seed):
    values = _stack(seed)
    slopes = ols_slope(values, YEARS)
    for pixel, series in enumerate(values):
        ok = ~np.isnan(series)
        if ok.sum() < 2:
            assert np.isnan(slopes[pixel])
            continue
        expected = stats.linregress(YEARS[ok], series[ok].astype(np.float64)).slope
        assert slopes[pixel] == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", [3, 4])
def test_theil_sen_matches_theilslopes(seed):
    values = _stack(seed, pixels=200)
    slopes = theil_sen_slope(values, YEARS)
    for pixel, series in enumerate(values):
        ok = ~np.isnan(series)
        if ok.sum() < 2:
            assert np.isnan(slopes[pixel])
            continue
        expected = stats.theilslopes(series[ok].astype(np.float64), YEARS[ok]).slope
        assert slopes[pixel] == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", [5, 6])
def test_mann_kendall_s_counts_pairs_with_data(seed):
    values = _stack(seed, pixels=200)
    values[5, :3] = values[5, 3]  # ties add nothing
    s, n = mann_kendall_s(values)
    assert s.dtype == np.int32 and n.dtype == np.int16
    for pixel, series in enumerate(values):
        assert s[pixel] == _s_direct(series)
        assert n[pixel] == np.count_nonzero(~np.isnan(series))


def test_kernels_keep_the_pixel_axes():
    values = _stack(7, pixels=24).reshape(4, 6, YEARS.size)
    assert ols_slope(values, YEARS).shape == (4, 6)
    assert mann_kendall_s(values)[0].shape == (4, 6)
    assert trajectory(values, YEARS).trend.shape == (4, 6)


@pytest.mark.parametrize(
    ("values", "years", "message"),
    [(np.zeros((2, 3), dtype=np.int16), np.arange(3), "float array"),
     (np.zeros((2, 3)), np.arange(4), "4 years for series of length 3"),
     (np.zeros((2, 3)), np.array([2000, 2002, 2001]), "strictly increasing")],
)  # fmt: skip
def test_bad_input_is_refused(values, years, message):
    with pytest.raises(ValueError, match=message):
        ols_slope(values, years)


# --- the trajectory class --------------------------------------------------------------------------


@functools.cache
def _reference_critical(n: int, confidence: float) -> int:
    """Trends.Earth's rule from scipy: the smallest s > 0 with one-sided P(S > s) ≤ 1 − confidence."""
    pairs = n * (n - 1) // 2
    for s in range(pairs % 2 or 2, pairs + 1, 2):
        if (
            s + 2 > pairs
            or stats.kendalltau(np.arange(n), _series_with_s(n, s + 2), method="exact").pvalue / 2
            <= 1 - confidence
        ):
            return s
    return pairs


def _reference_trend(series: np.ndarray, params: TrajectoryParams) -> int:
    """The class from scipy's slope and an O(n²) S over the pairs with data, tested as Trends.Earth
    does: |S| against the critical value for the period's length, direction from the slope."""
    ok = ~np.isnan(series)
    if ok.sum() < params.min_years:
        return CLASS_NODATA
    slope = stats.linregress(YEARS[ok], series[ok].astype(np.float64)).slope
    significant = abs(_s_direct(series)) >= _reference_critical(YEARS.size, params.confidence)
    if significant and slope < -params.slope_threshold:
        return -1
    if significant and slope > params.slope_threshold:
        return 1
    return 0


@pytest.mark.parametrize("confidence", CONFIDENCE_LEVELS)
def test_trajectory_class_matches_scipy(confidence):
    params = TrajectoryParams(confidence=confidence)
    values = _stack(8, pixels=300)
    result = trajectory(values, YEARS, params=params)
    expected = np.array([_reference_trend(series, params) for series in values])
    np.testing.assert_array_equal(result.trend, expected)
    assert {-1, 0, 1, CLASS_NODATA} <= set(result.trend.tolist())
    expected_slope = np.where(
        result.trend == CLASS_NODATA, np.nan, ols_slope(values, YEARS)
    ).astype(np.float32)
    np.testing.assert_allclose(result.slope, expected_slope, equal_nan=True)
    np.testing.assert_array_equal(result.s, mann_kendall_s(values)[0])


def test_trajectory_parallel_equals_serial():
    values = _stack(9, pixels=500)
    serial = trajectory(values, YEARS, params=TrajectoryParams(method="theil_sen"))
    parallel = trajectory(values, YEARS, params=TrajectoryParams(method="theil_sen"), parallel=True)
    for name in ("slope", "s", "n", "trend"):
        np.testing.assert_array_equal(getattr(serial, name), getattr(parallel, name))


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0, 5.0], 1),  # S = 10 ≥ 6, the 95 % value for n = 5
        ([5.0, 4.0, 3.0, 2.0, 1.0], -1),
        ([1.0, 2.0, 3.0, 4.0], 1),  # S = 6 ≥ 4, the 95 % value for n = 4
        ([1.0, 2.0, np.nan, 3.0, 4.0, 5.0], 1),  # a missing year: S = 10 over 5 years, n = 6: 10 ≥ 9
        ([1.0, 2.0, np.nan, np.nan, np.nan, 3.0], CLASS_NODATA),  # 3 years < min_years
        ([3.0, 1.0, 2.0, 5.0, 4.0], 0),  # S = 4 < 6 though the slope (0.6) is above the threshold
        ([0.0, 0.5, 1.0, 1.5, 2.0], 0),  # slope 0.5 is not above the threshold 0.5
        ([0.0, 0.625, 1.25, 1.875, 2.5], 1),
    ],
)  # fmt: skip
def test_trajectory_on_hand_made_series(series, expected):
    params = TrajectoryParams(slope_threshold=0.5)
    series = np.array([series])
    result = trajectory(series, np.arange(series.shape[1]), params=params)
    assert result.trend[0] == expected
    assert np.isnan(result.slope[0]) == (expected == CLASS_NODATA)


def test_trajectory_params_are_validated():
    with pytest.raises(ValueError, match="method 'median'"):
        TrajectoryParams(method="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_years 1"):
        TrajectoryParams(min_years=1)


# --- the xarray/Dask wrapper -----------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_xarray_trajectory_equals_the_kernel(chunked):
    import xarray as xr

    from sdgcube.datacube.xr_productivity import trajectory as xr_trajectory

    values = _stack(10, pixels=12 * 10).reshape(12, 10, YEARS.size)
    cube = xr.DataArray(np.moveaxis(values, -1, 0), dims=("year", "y", "x"),
                        coords={"year": YEARS, "y": np.arange(12.0), "x": np.arange(10.0)})  # fmt: skip
    if chunked:
        cube = cube.chunk({"year": 1, "y": 5, "x": 4})
    result = xr_trajectory(cube).compute()
    expected = trajectory(values, YEARS)
    assert result.trend.dims == ("y", "x") and list(result.x.values) == list(range(10))
    np.testing.assert_array_equal(result.trend.values, expected.trend)
    np.testing.assert_array_equal(result.mk_s.values, expected.s)
    np.testing.assert_allclose(result.slope.values, expected.slope, equal_nan=True)


def test_annual_mean_groups_sub_annual_slices():
    import pandas as pd
    import xarray as xr

    from sdgcube.datacube.xr_productivity import annual_mean

    times = pd.to_datetime(["2001-03-01", "2001-09-01", "2002-06-01"])
    values = xr.DataArray(
        np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 6.0]]),
        dims=("time", "x"),
        coords={"time": times},
    )
    result = annual_mean(values)
    assert list(result.year.values) == [2001, 2002]
    np.testing.assert_array_equal(result.values, [[2.0, 4.0], [5.0, 6.0]])
    annual = annual_mean(values.isel(time=[0, 2]))
    assert list(annual.year.values) == [2001, 2002] and "time" not in annual.coords
