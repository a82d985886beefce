"""Productivity state, performance and the LPD table: decile classes at their boundaries, state and
performance against plain numpy/pandas references on random inputs, and every LPD combination."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from sdgcube.indicators.degradation import CLASS_NODATA
from sdgcube.indicators.productivity import (
    StateParams,
    decile_class,
    decile_thresholds,
    land_units,
    lpd_class,
    lpd_degradation,
    performance_class,
    performance_ratio,
    productivity_state,
)

ND = CLASS_NODATA


# --- deciles and state -----------------------------------------------------------------------------


def _widened(sample: np.ndarray, extension: float = 0.05) -> np.ndarray:
    valid = sample[~np.isnan(sample)]
    spread = valid.max() - valid.min()
    return np.r_[valid, valid.min() - extension * spread, valid.max() + extension * spread]


def test_decile_thresholds_are_numpy_percentiles_of_the_widened_sample():
    rng = np.random.default_rng(0)
    for _ in range(20):
        sample = rng.normal(0.5, 0.1, size=rng.integers(2, 20))
        sample[rng.random(sample.size) < 0.2] = np.nan
        if np.count_nonzero(~np.isnan(sample)) < 1:
            continue
        expected = np.percentile(_widened(sample), np.arange(10, 100, 10))
        np.testing.assert_allclose(decile_thresholds(sample, 0.05), expected, rtol=0, atol=1e-15)


def test_decile_thresholds_of_a_known_sample():
    # 0 … 9 widened by 5 % of the range (9): −0.45 and 9.45; 12 values, p10 at position 1.1.
    thresholds = decile_thresholds(np.arange(10.0), 0.05)
    assert thresholds[0] == pytest.approx(0.1)
    assert thresholds[4] == pytest.approx(4.5)
    assert thresholds[8] == pytest.approx(8.9)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-5.0, 1),
        (1.0, 1),
        (1.0 + 1e-9, 2),
        (2.0, 2),
        (5.0, 5),
        (5.5, 6),
        (9.0, 9),
        (9.0 + 1e-9, 10),
        (50.0, 10),
    ],
)
def test_decile_class_boundaries(value, expected):
    """≤ p10 → 1, p(10k−10) < v ≤ p(10k) → k, > p90 → 10."""
    thresholds = np.arange(1.0, 10.0)  # p10 = 1 … p90 = 9
    assert decile_class(value, thresholds) == expected


def _state_reference(baseline: np.ndarray, recent: np.ndarray, params: StateParams) -> int:
    b, r = baseline[~np.isnan(baseline)], recent[~np.isnan(recent)]
    if b.size < params.min_baseline_years or r.size == 0:
        return ND
    if abs(r.mean() - b.mean()) <= params.min_difference:
        return 0
    thresholds = np.percentile(_widened(b, params.range_extension), np.arange(10, 100, 10))
    change = np.searchsorted(thresholds, r.mean(), side="left") - np.searchsorted(
        thresholds, b.mean(), side="left"
    )
    return -1 if change <= -params.class_change else 1 if change >= params.class_change else 0


@pytest.mark.parametrize(
    "params", [StateParams(), StateParams(range_extension=0.2, min_difference=0.0, class_change=3)]
)
def test_state_matches_a_numpy_reference(params):
    rng = np.random.default_rng(1)
    pixels = 500
    baseline = rng.normal(0.5, 0.05, size=(pixels, 13))
    recent = rng.normal(0.5, 0.05, size=(pixels, 3)) + rng.uniform(-0.1, 0.1, size=(pixels, 1))
    baseline[rng.random(baseline.shape) < 0.1] = np.nan
    recent[rng.random(recent.shape) < 0.2] = np.nan
    baseline[0, 1:] = np.nan  # one baseline year
    recent[1] = np.nan  # no recent year
    state = productivity_state(baseline, recent, params=params)
    expected = [_state_reference(b, r, params) for b, r in zip(baseline, recent, strict=True)]
    np.testing.assert_array_equal(state, expected)
    assert set(state.tolist()) == {-1, 0, 1, ND}
    np.testing.assert_array_equal(
        productivity_state(baseline, recent, params=params, parallel=True), state
    )


def test_state_on_hand_made_series():
    baseline = np.linspace(0.50, 0.62, 13)  # deciles ≈ 0.51 … 0.61
    cases = {
        "falls by three deciles": (np.full(3, 0.52), -1),
        "rises above every decile": (np.full(3, 0.70), 1),
        "one decile down": (np.full(3, 0.55), 0),
        "within 0.01 of the baseline mean": (np.full(3, 0.565), 0),
    }
    for name, (recent, expected) in cases.items():
        assert productivity_state(baseline[np.newaxis], recent[np.newaxis])[0] == expected, name


def test_state_shapes_must_agree():
    with pytest.raises(ValueError, match="pixel axes"):
        productivity_state(np.zeros((3, 5)), np.zeros((4, 2)))


# --- performance -----------------------------------------------------------------------------------


def test_performance_ratio_matches_a_pandas_group_quantile():
    rng = np.random.default_rng(2)
    mean = rng.uniform(0.0, 0.9, size=(60, 50))
    units = rng.integers(0, 6, size=mean.shape)
    mean[rng.random(mean.shape) < 0.05] = np.nan
    units[rng.random(units.shape) < 0.05] = -1
    ratio = performance_ratio(mean, units, percentile=90)
    frame = pd.DataFrame({"mean": mean.ravel(), "unit": units.ravel()})
    valid = frame["mean"].notna() & (frame["unit"] >= 0)
    reference = frame[valid].groupby("unit")["mean"].quantile(0.9)
    expected = np.where(valid, frame["mean"] / frame["unit"].map(reference), np.nan).reshape(
        mean.shape
    )
    np.testing.assert_allclose(ratio, expected.astype(np.float32), rtol=1e-6, equal_nan=True)


def test_performance_ratio_nodata_and_zero_reference():
    mean = np.array([[0.2, 0.4, np.nan, -0.1, -0.2, 0.5]])
    units = np.array([[1, 1, 1, 2, 2, -1]])
    ratio = performance_ratio(mean, units, percentile=100)
    np.testing.assert_allclose(ratio, [[0.5, 1.0, np.nan, np.nan, np.nan, np.nan]], equal_nan=True)
    assert np.isnan(performance_ratio(np.full((2, 2), np.nan), np.ones((2, 2), int))).all()


def test_performance_class_boundary():
    ratio = np.array([0.49, 0.5, 0.5000001, 1.2, np.nan], dtype=np.float32)
    np.testing.assert_array_equal(performance_class(ratio, threshold=0.5), [-1, -1, 0, 0, ND])


def test_land_units_combine_land_cover_and_ecological_units():
    lc = np.array([1.0, 2.0, np.nan, 2.0, 3.0])
    eco = np.array([7, 7, 7, np.nan, 0])
    codes = land_units(lc, eco)
    assert codes[2] == codes[3] == -1
    assert len({codes[0], codes[1], codes[4]}) == 3 and (codes[[0, 1, 4]] >= 0).all()
    np.testing.assert_array_equal(land_units(lc), [1, 2, -1, 2, 3])


# --- land productivity dynamics --------------------------------------------------------------------

_LPD_OVERRIDES = {(0, 0, -1): 3, (1, -1, -1): 2, (0, -1, 0): 2, (0, -1, -1): 1}
"""The table as issue 4 states it, after the trajectory's −1→1, 0→4, +1→5."""


@pytest.mark.parametrize(
    ("t", "s", "p"), list(itertools.product((-1, 0, 1), (-1, 0, 1), (-1, 0, 1)))
)
def test_lpd_table_every_combination(t, s, p):
    expected = _LPD_OVERRIDES.get((t, s, p), {-1: 1, 0: 4, 1: 5}[t])
    assert lpd_class(np.array([t]), np.array([s]), np.array([p]))[0] == expected


def test_lpd_nodata_in_any_input_is_nodata():
    values = np.array([-1, 0, 1], dtype=np.int8)
    for position in range(3):
        for bad in (ND, 2, -2):
            layers = [values.copy(), values.copy(), values.copy()]
            layers[position][:] = bad
            np.testing.assert_array_equal(lpd_class(*layers), [ND, ND, ND])
    assert lpd_class(values, values, values).dtype == np.int8


@pytest.mark.parametrize(
    ("lpd", "expected"),
    [
        (1, -1),
        (2, -1),
        (3, 0),
        (4, 0),
        (5, 1),
        (0, ND),
        (6, ND),
        (ND, ND),
        (np.nan, ND),
        (2.5, ND),
        (4.0, 0),
    ],
)
def test_lpd_degradation(lpd, expected):
    dtype = np.float32 if isinstance(lpd, float) else np.int16
    assert lpd_degradation(np.array([lpd], dtype=dtype))[0] == expected


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_xarray_state_equals_the_kernel(chunked):
    import xarray as xr

    from sdgcube.datacube.xr_productivity import productivity_state as xr_state

    rng = np.random.default_rng(3)
    values = rng.normal(0.5, 0.05, size=(16, 6, 7))
    ndvi = xr.DataArray(values, dims=("year", "y", "x"), coords={"year": np.arange(2000, 2016)})
    if chunked:
        ndvi = ndvi.chunk({"year": 1, "y": 3, "x": 4})
    result = xr_state(ndvi.sel(year=slice(2000, 2012)), ndvi.sel(year=slice(2013, 2015)))
    expected = productivity_state(np.moveaxis(values[:13], 0, -1), np.moveaxis(values[13:], 0, -1))
    assert result.dims == ("y", "x")
    np.testing.assert_array_equal(result.values, expected)


def test_lpd_float_nan_is_nodata_not_stable():
    from sdgcube.indicators.productivity import lpd_class

    result = lpd_class(np.array([np.nan, 0.0]), np.array([0, 0]), np.array([0, 0]))
    assert result.tolist() == [-128, 4]
