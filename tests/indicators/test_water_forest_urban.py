"""Kernels of 6.6.1 (water persistence), 15.1.1 (forest classes) and 11.3.1 (LCRPGR), on tiny
hand-written arrays with nodata, zero denominators and class boundaries, against plain numpy
references on random inputs, and their xarray/dask wrappers against the kernels (one and many chunks)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox
from odc.geo.xr import wrap_xr

from sdgcube.datacube import xr_indicators
from sdgcube.datacube.areas import pixel_area_km2
from sdgcube.indicators import forest, urban, water
from sdgcube.indicators.zonal import class_area_by_unit

P, S, N, ND = water.PERMANENT, water.SEASONAL, water.NOT_WATER, water.NODATA

# --- water: permanent / seasonal / not water / no data ------------------------------------------------


def _obs(*columns: list[int]) -> np.ndarray:
    """(time, 1, pixel) from one list of observations per pixel."""
    return np.array(columns, dtype=np.uint8).T[:, np.newaxis, :]


@pytest.mark.parametrize(
    ("observations", "expected"),
    [
        ([1, 1, 1, 1], P),
        ([1, 255, 1, 255], P),  # water in every *valid* observation
        ([255, 255, 1, 255], P),  # one valid observation, water
        ([1, 1, 0, 0], S),
        ([0, 255, 255, 1], S),
        ([0, 0, 0, 0], N),
        ([0, 255, 0, 255], N),
        ([255, 255, 255, 255], ND),  # no valid observation
        ([7, 2, 255, 254], ND),  # codes other than 0/1 are no observation
        ([7, 1, 2, 1], P),
    ],
)  # fmt: skip
def test_water_persistence_classes(observations, expected):
    classes = water.water_persistence(_obs(observations))
    assert classes.dtype == np.int8 and classes.shape == (1, 1)
    assert classes[0, 0] == expected


def test_water_persistence_keeps_pixels_apart():
    obs = _obs([1, 1], [1, 0], [0, 0], [255, 255])
    np.testing.assert_array_equal(water.water_persistence(obs), [[P, S, N, ND]])


def test_water_persistence_of_a_single_observation():
    assert water.water_persistence(np.array([[[0, 1, 255]]], dtype=np.uint8)).tolist() == [
        [N, P, ND]
    ]


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64])
def test_water_persistence_matches_numpy_on_random_stacks(dtype):
    rng = np.random.default_rng(3)
    obs = rng.choice(
        np.array([0, 1, 255, 9], dtype=dtype), size=(6, 31, 17), p=[0.35, 0.35, 0.2, 0.1]
    )
    valid = (obs == 0) | (obs == 1)
    n_valid, n_wet = valid.sum(axis=0), (obs == 1).sum(axis=0)
    expected = np.select([n_valid == 0, n_wet == n_valid, n_wet > 0], [ND, P, S], N)
    np.testing.assert_array_equal(water.water_persistence(obs), expected)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((3, 4), np.uint8), "must be \\(time, y, x\\)"),
        (np.zeros((2, 3, 4)), "integer water codes"),
    ],
)
def test_water_persistence_refuses_bad_input(array, message):
    with pytest.raises(ValueError, match=message):
        water.water_persistence(array)


def test_water_from_index_threshold_is_strict_and_nan_is_no_observation():
    index = np.array([-0.5, 0.0, 1e-6, 0.8, np.nan])
    np.testing.assert_array_equal(water.water_from_index(index), [0, 0, 1, 1, 255])
    np.testing.assert_array_equal(water.water_from_index(index, threshold=0.5), [0, 0, 0, 1, 255])
    assert water.water_from_index(index).dtype == np.uint8


def test_mndwi_formula_and_zero_denominator():
    green = np.array([0.07, 0.10, 0.0, np.nan, 700], dtype=np.float32)
    swir1 = np.array([0.012, 0.30, 0.0, 0.1, 120], dtype=np.float32)
    expected = [(0.07 - 0.012) / 0.082, (0.10 - 0.30) / 0.40, np.nan, np.nan, 580 / 820]
    result = water.mndwi(green, swir1)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("baseline", "reporting", "expected"),
    [(100.0, 50.0, -50.0), (0.5544, 0.09864, (0.09864 - 0.5544) / 0.5544 * 100), (2.0, 3.0, 50.0),
     (0.0, 5.0, np.nan), (0.0, 0.0, np.nan), (np.nan, 1.0, np.nan), (4.0, 4.0, 0.0)],
)  # fmt: skip
def test_percent_change(baseline, reporting, expected):
    np.testing.assert_allclose(water.percent_change(baseline, reporting), expected)


def test_percent_change_of_arrays():
    np.testing.assert_allclose(water.percent_change(np.array([1.0, 0.0, 4.0]), np.array([2.0, 1.0, 1.0])),
                               [100.0, np.nan, -75.0])  # fmt: skip


# --- forest ----------------------------------------------------------------------------------------------

F, OL, NL, FND = forest.FOREST, forest.OTHER_LAND, forest.NOT_LAND, forest.NODATA


def test_forest_from_land_cover_unccd_defaults():
    lc = np.arange(0, 10, dtype=np.uint8).reshape(2, 5)
    expected = [[FND, F, OL, OL, OL], [OL, OL, NL, OL, OL]]
    result = forest.forest_from_land_cover(lc)
    assert result.dtype == np.int8
    np.testing.assert_array_equal(result, expected)


def test_forest_from_land_cover_custom_legend_and_wide_codes():
    lc = np.array([-3, 0, 10, 11, 20, 255, 256, 1000], dtype=np.int16)
    result = forest.forest_from_land_cover(
        lc, forest_classes=[10, 11], non_land_classes=[20], nodata=255
    )
    np.testing.assert_array_equal(result, [FND, OL, F, F, NL, FND, FND, FND])


def test_forest_from_land_cover_without_nodata_code():
    result = forest.forest_from_land_cover(np.array([0, 1], np.uint8), nodata=None)
    np.testing.assert_array_equal(result, [OL, F])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"forest_classes": [1], "non_land_classes": [1]}, "both forest and non-land"),
     ({"forest_classes": [300]}, "outside 0-255"), ({"non_land_classes": [-1]}, "outside 0-255")],
)  # fmt: skip
def test_forest_from_land_cover_refuses_bad_legends(kwargs, message):
    with pytest.raises(ValueError, match=message):
        forest.forest_from_land_cover(np.zeros(3, np.uint8), **kwargs)


def test_forest_from_land_cover_refuses_floats():
    with pytest.raises(ValueError, match="integer class codes"):
        forest.forest_from_land_cover(np.zeros(3))


def test_forest_from_ndvi_boundaries():
    ndvi = np.array([-0.2, -1e-9, 0.0, 0.5, 0.6999, 0.7, 0.9, np.nan])
    np.testing.assert_array_equal(forest.forest_from_ndvi(ndvi), [NL, NL, OL, OL, OL, F, F, FND])
    np.testing.assert_array_equal(
        forest.forest_from_ndvi(ndvi, forest_threshold=0.5, land_threshold=-0.1),
        [NL, OL, OL, F, F, F, F, FND],
    )


def test_forest_from_ndvi_refuses_crossed_thresholds():
    with pytest.raises(ValueError, match="must exceed land_threshold"):
        forest.forest_from_ndvi(np.zeros(2), forest_threshold=0.1, land_threshold=0.2)


def test_forest_proportion():
    forest_km2, other_km2 = np.array([1.0, 0.0, 0.0, 3.0]), np.array([3.0, 2.0, 0.0, 0.0])
    np.testing.assert_allclose(
        forest.forest_proportion(forest_km2, other_km2), [25.0, 0.0, np.nan, 100.0]
    )


# --- urban: LCRPGR ----------------------------------------------------------------------------------------


def test_lcrpgr_formula_by_hand():
    urb1, urb2, pop1, pop2, years = 0.2304, 0.738, 40_000.0, 53_874.2, 20
    lcr = math.log(urb2 / urb1) / years
    pgr = math.log(pop2 / pop1) / years
    assert urban.land_consumption_rate(urb1, urb2, years) == pytest.approx(lcr, rel=1e-12)
    assert urban.population_growth_rate(pop1, pop2, years) == pytest.approx(pgr, rel=1e-12)
    assert urban.lcrpgr(urb1, urb2, pop1, pop2, years=years) == pytest.approx(lcr / pgr, rel=1e-12)


def test_lcrpgr_is_independent_of_the_period_length_and_area_units():
    # y cancels; km² or m² cancel inside the logarithm.
    a = urban.lcrpgr(1.0, 2.0, 100.0, 150.0, years=5)
    assert urban.lcrpgr(1e6, 2e6, 100.0, 150.0, years=17) == pytest.approx(a)
    assert a == pytest.approx(math.log(2) / math.log(1.5))


@pytest.mark.parametrize(
    ("args", "years"),
    [((1.0, 2.0, 100.0, 100.0), 10),  # no population growth: PGR = 0
     ((0.0, 2.0, 100.0, 120.0), 10), ((1.0, 0.0, 100.0, 120.0), 10),  # no built-up land
     ((1.0, 2.0, 0.0, 120.0), 10), ((1.0, 2.0, 100.0, -5.0), 10),
     ((np.nan, 2.0, 100.0, 120.0), 10), ((1.0, 2.0, 100.0, 120.0), 0)],
)  # fmt: skip
def test_lcrpgr_undefined_is_nan(args, years):
    assert np.isnan(urban.lcrpgr(*args, years=years))


def test_lcrpgr_per_unit_arrays_and_shrinking_population():
    urb1, urb2 = np.array([1.0, 2.0, 1.0]), np.array([2.0, 2.0, 0.5])
    pop1, pop2 = np.array([100.0, 100.0, 200.0]), np.array([200.0, 50.0, 100.0])
    expected = [1.0, 0.0, 1.0]  # ln 2 / ln 2; 0 / ln ½; ln ½ / ln ½
    np.testing.assert_allclose(urban.lcrpgr(urb1, urb2, pop1, pop2, years=10), expected)


def test_built_up_per_capita_in_square_metres():
    np.testing.assert_allclose(urban.built_up_per_capita(np.array([0.5, 1.0]), np.array([1000.0, 0.0])),
                               [500.0, np.nan])  # fmt: skip


def test_population_by_unit_by_hand():
    population = np.array([[1.0, 2.0, np.nan], [4.0, 8.0, 16.0]], dtype=np.float32)
    units = np.array([[1, 1, 1], [2, 0, 2]], dtype=np.int32)
    inside = np.array([[True, False, True], [False, True, True]])
    out = urban.population_by_unit(population, units, n_units=2, inside=inside)
    np.testing.assert_allclose(out, [[3.0, 1.0], [20.0, 16.0]])
    np.testing.assert_allclose(
        urban.population_by_unit(population, units, n_units=2), [[3.0, 0.0], [20.0, 0.0]]
    )


def test_population_by_unit_matches_numpy_on_random_grids():
    rng = np.random.default_rng(5)
    population = rng.gamma(2.0, 10.0, (40, 30))
    population[rng.random(population.shape) < 0.1] = np.nan
    units = rng.integers(0, 4, population.shape)
    inside = rng.random(population.shape) < 0.3
    out = urban.population_by_unit(population, units, n_units=3, inside=inside)
    for unit in range(1, 4):
        mine = units == unit
        expected = [np.nansum(population[mine]), np.nansum(population[mine & inside])]
        np.testing.assert_allclose(out[unit - 1], expected)


def test_population_by_unit_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        urban.population_by_unit(np.zeros((2, 2)), np.zeros((2, 3), np.int32), n_units=1)


# --- the xarray/dask wrappers -------------------------------------------------------------------------------

GEOGRAPHIC = GeoBox((40, 30), Affine(0.001, 0, 177.9, 0, -0.001, -17.5), "EPSG:4326")
UTM = GeoBox((40, 30), Affine(30, 0, 597_000, 0, -30, 8_053_000), "EPSG:32760")


def _halves(geobox: GeoBox) -> np.ndarray:
    """Units from pixel-centre coordinates only, so any block of the grid gets the same answer: west of
    the 13th column 1, east of it 2, the three northernmost rows outside every unit."""
    full = GEOGRAPHIC if geobox.crs.geographic else UTM
    ny, nx = geobox.shape
    xs, ys = geobox.affine * np.meshgrid(np.arange(nx) + 0.5, np.arange(ny) + 0.5)
    mid_x, top_y = full.affine.c + 13 * full.affine.a, full.affine.f + 3 * full.affine.e
    units = np.where(xs < mid_x, 1, 2).astype(np.int32)
    units[ys > top_y] = 0
    return units


@pytest.mark.parametrize("geobox", [GEOGRAPHIC, UTM], ids=["geographic", "utm"])
@pytest.mark.parametrize(
    "chunks", [None, {"y": 40, "x": 30}, {"y": 7, "x": 11}], ids=["numpy", "one", "many"]
)
def test_class_area_wrapper_matches_the_kernel(geobox, chunks):
    rng = np.random.default_rng(11)
    codes = rng.integers(-1, 4, (3, *geobox.shape)).astype(np.int8)
    year_arrays = [wrap_xr(codes[i], geobox) for i in range(3)]
    classes = xr.concat(year_arrays, dim=xr.DataArray([2001, 2002, 2003], dims="year", name="year"))
    if chunks is not None:
        classes = classes.chunk(
            {"year": 1, **{d: chunks[k] for d, k in zip(classes.dims[1:], ("y", "x"), strict=True)}}
        )
    area = xr_indicators.class_area(classes, _halves, n_units=2, class_values=(2, 0, -1))
    assert area.dims == ("year", "unit", "class") and list(area["class"].values) == [2, 0, -1]
    expected = np.stack([class_area_by_unit(codes[i], _halves(geobox), pixel_area_km2(geobox), n_units=2,
                                            class_values=(2, 0, -1)) for i in range(3)])  # fmt: skip
    rtol = 1e-12 if geobox.crs.geographic else 1e-5  # UTM: scale factor sampled per block
    np.testing.assert_allclose(area.values, expected, rtol=rtol)


@pytest.mark.parametrize("chunks", [None, {"y": 9, "x": 8}], ids=["numpy", "dask"])
def test_population_by_unit_wrapper_matches_the_kernel(chunks):
    rng = np.random.default_rng(2)
    pop = rng.gamma(2.0, 5.0, UTM.shape).astype(np.float32)
    pop[::7, ::5] = np.nan
    hazard = rng.random(UTM.shape) < 0.25
    pop_xr, hazard_xr = wrap_xr(pop, UTM), wrap_xr(hazard, UTM)
    if chunks is not None:
        pop_xr, hazard_xr = pop_xr.chunk(chunks), hazard_xr.chunk(chunks)
    out = xr_indicators.population_by_unit(pop_xr, _halves, n_units=2, inside=hazard_xr)
    expected = urban.population_by_unit(pop, _halves(UTM), n_units=2, inside=hazard)
    np.testing.assert_allclose(out.values, expected, rtol=1e-9)
    assert list(out.column.values) == ["total", "inside"]


def test_yearly_water_classes_wrapper():
    days = ["2001-02-15", "2001-08-15", "2002-02-15", "2002-08-15", "2004-05-15"]
    times = np.array(days, dtype="datetime64[ns]")
    values = np.array([[[1, 0]], [[1, 1]], [[0, 0]], [[255, 1]], [[1, 1]]], dtype=np.uint8)
    geobox = GeoBox((1, 2), Affine(30, 0, 0, 0, -30, 0), "EPSG:32760")
    stack = xr.concat(
        [wrap_xr(v, geobox) for v in values], dim=xr.DataArray(times, dims="time", name="time")
    )
    for data in (stack, stack.chunk({"time": 1})):
        classes = xr_indicators.yearly_water_classes(data, [2001, 2002, 2003, 2004])
        assert classes.dims == ("year", "y", "x") and classes.dtype == np.int8
        np.testing.assert_array_equal(classes.values[:, 0], [[P, S], [N, S], [ND, ND], [P, P]])
        assert classes.odc.geobox == geobox  # the CRS survives


def test_pixelwise_wrappers_keep_the_grid():
    ndvi = wrap_xr(
        np.array([[0.9, 0.3], [-0.2, np.nan]], dtype=np.float32),
        GeoBox((2, 2), UTM.affine, UTM.crs),
    )
    for data in (ndvi, ndvi.chunk({"y": 1})):
        classes = xr_indicators.forest_from_ndvi(data, forest_threshold=0.7, land_threshold=0.0)
        assert classes.odc.crs == UTM.crs and classes.attrs == {}
        np.testing.assert_array_equal(classes.values, [[F, OL], [NL, FND]])
