"""Kernels of burnt area (NBR, dNBR, Key & Benson classes at every boundary) and of 13.1.1 (hazard
masks, affected persons per 100 000), on hand-computed arrays and against numpy references."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sdgcube.datacube import xr_indicators
from sdgcube.indicators import burn, hazard

ER, UN, LO, ML, MH, HI, ND = (
    burn.ENHANCED_REGROWTH, burn.UNBURNED, burn.LOW, burn.MODERATE_LOW, burn.MODERATE_HIGH, burn.HIGH, burn.NODATA,
)  # fmt: skip

# --- NBR and dNBR ------------------------------------------------------------------------------------------


def test_nbr_by_hand():
    nir = np.array([0.425, 0.3, 0.0, np.nan, 0.2], dtype=np.float32)
    swir2 = np.array([0.089, 0.3, 0.0, 0.1, -0.2], dtype=np.float32)
    result = burn.nbr(nir, swir2)
    assert result.dtype == np.float32
    np.testing.assert_allclose(
        result, [(0.425 - 0.089) / 0.514, 0.0, np.nan, np.nan, np.nan], rtol=1e-6
    )


def test_nbr_of_scaled_integers_is_scale_free():
    nir, swir2 = np.array([4250, -9999], dtype=np.int16), np.array([890, 890], dtype=np.int16)
    np.testing.assert_allclose(
        burn.nbr(nir, swir2)[0], (0.425 - 0.089) / (0.425 + 0.089), rtol=1e-6
    )


def test_dnbr_is_pre_minus_post():
    np.testing.assert_allclose(burn.dnbr(np.array([0.65, 0.5, np.nan]), np.array([-0.2, 0.6, 0.1])),
                               [0.85, -0.1, np.nan])  # fmt: skip


# --- severity classes ----------------------------------------------------------------------------------------

BOUNDARIES = [
    (-0.5, ER), (-0.1001, ER), (-0.1, UN), (0.0, UN), (0.0999, UN), (0.1, LO), (0.2699, LO), (0.27, ML),
    (0.35, ML), (0.4399, ML), (0.44, MH), (0.6599, MH), (0.66, HI), (0.85, HI), (2.0, HI), (np.nan, ND),
]  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dnbr_severity_at_every_class_boundary(dtype):
    values = np.array([v for v, _ in BOUNDARIES], dtype=dtype)
    classes = burn.dnbr_severity(values)
    assert classes.dtype == np.int8
    np.testing.assert_array_equal(classes, [c for _, c in BOUNDARIES])


def test_dnbr_severity_keeps_the_shape():
    values = np.array([[0.85, 0.35], [np.nan, -0.3]])
    np.testing.assert_array_equal(burn.dnbr_severity(values), [[HI, ML], [ND, ER]])


def test_dnbr_severity_matches_digitize_on_random_values():
    rng = np.random.default_rng(9)
    values = rng.uniform(-0.6, 1.3, 5000)
    values[::97] = np.nan
    expected = np.digitize(values, burn.DNBR_BOUNDS) - 1
    expected = np.where(np.isnan(values), ND, expected)
    np.testing.assert_array_equal(burn.dnbr_severity(values), expected)


def test_dnbr_severity_with_custom_bounds():
    values = np.array([-0.3, -0.2, 0.05, 0.2, 0.5, 0.7])
    bounds = (-0.25, 0.0, 0.1, 0.3, 0.6)
    np.testing.assert_array_equal(
        burn.dnbr_severity(values, bounds=bounds), [ER, UN, LO, ML, MH, HI]
    )


@pytest.mark.parametrize(
    "bounds", [(0.1, 0.1, 0.2, 0.3, 0.4), (0.5, 0.4, 0.3, 0.2, 0.1), (0.1, 0.2)]
)
def test_dnbr_severity_refuses_bad_bounds(bounds):
    with pytest.raises(ValueError, match="strictly ascending"):
        burn.dnbr_severity(np.zeros(3), bounds=bounds)


def test_dnbr_severity_refuses_integers():
    with pytest.raises(ValueError, match="floating-point"):
        burn.dnbr_severity(np.zeros(3, dtype=np.int16))


def test_burnt_is_low_and_above():
    classes = np.array([ER, UN, LO, ML, MH, HI, ND], dtype=np.int8)
    np.testing.assert_array_equal(
        burn.burnt(classes), [False, False, True, True, True, True, False]
    )
    assert set(burn.CLASS_NAMES) == {ER, UN, LO, ML, MH, HI} and burn.BURNT_CLASSES == (
        LO,
        ML,
        MH,
        HI,
    )


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_severity_wrapper(chunked):
    values = xr.DataArray(np.array([[0.85, 0.35, np.nan, 0.05]], dtype=np.float32), dims=("y", "x"))
    if chunked:
        values = values.chunk({"x": 2})
    np.testing.assert_array_equal(xr_indicators.dnbr_severity(values).values, [[HI, ML, ND, UN]])
    custom = xr_indicators.dnbr_severity(values, bounds=(-0.2, 0.0, 0.4, 0.5, 0.9))
    np.testing.assert_array_equal(custom.values, [[MH, LO, ND, LO]])


# --- hazard and 13.1.1 ---------------------------------------------------------------------------------------


def test_hazard_mask_of_a_mask_and_of_classes():
    mask = np.array([[0.0, 1.0, np.nan]])
    np.testing.assert_array_equal(hazard.hazard_mask(mask), [[False, True, False]])
    severity = np.array([[-1.0, 0.0, 1.0, 2.0, 4.0, np.nan]])
    np.testing.assert_array_equal(
        hazard.hazard_mask(severity), [[False, False, True, True, True, False]]
    )
    np.testing.assert_array_equal(hazard.hazard_mask(severity, min_value=2, max_value=3),
                                  [[False, False, False, True, False, False]])  # fmt: skip


def test_hazard_mask_is_any_time_slice():
    stack = np.array([[[0, 1, np.nan]], [[1, 0, np.nan]], [[0, 0, 0]]])
    np.testing.assert_array_equal(hazard.hazard_mask(stack), [[True, True, False]])


def test_hazard_mask_refuses_other_shapes():
    with pytest.raises(ValueError, match="\\(time, y, x\\)"):
        hazard.hazard_mask(np.zeros(4))


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
def test_hazard_mask_wrapper_over_time(chunked):
    stack = xr.DataArray(np.array([[[0.0, 2.0]], [[1.0, np.nan]]]), dims=("time", "y", "x"))
    if chunked:
        stack = stack.chunk({"time": 1})
    np.testing.assert_array_equal(xr_indicators.hazard_mask(stack, min_value=1, max_value=None).values,
                                  [[True, True]])  # fmt: skip
    np.testing.assert_array_equal(xr_indicators.hazard_mask(stack, min_value=1, max_value=1.5).values,
                                  [[True, False]])  # fmt: skip


@pytest.mark.parametrize(
    ("affected", "population", "expected"),
    [(521.67, 53_874.2, 521.67 / 53_874.2 * 1e5), (0.0, 1000.0, 0.0), (10.0, 0.0, np.nan), (1.0, -1.0, np.nan),
     (1000.0, 1000.0, 100_000.0)],
)  # fmt: skip
def test_affected_per_100k(affected, population, expected):
    np.testing.assert_allclose(hazard.affected_per_100k(affected, population), expected)


def test_exposed_population_by_unit_by_hand():
    population = np.array([[10.0, 20.0], [np.nan, 40.0]])
    flooded = np.array([[True, False], [True, True]])
    units = np.array([[1, 2], [1, 2]], dtype=np.int32)
    out = hazard.exposed_population_by_unit(population, flooded, units, n_units=2)
    np.testing.assert_allclose(out, [[10.0, 10.0], [60.0, 40.0]])
    np.testing.assert_allclose(
        hazard.affected_per_100k(out[:, 1], out[:, 0]), [100_000.0, 40 / 60 * 1e5]
    )
