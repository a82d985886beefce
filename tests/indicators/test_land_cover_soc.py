"""Land-cover transitions, SOC change at its ±10 % boundaries, one-out-all-out and the reporting
status, each with nodata."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sdgcube.indicators.degradation import CLASS_NODATA, as_float, one_out_all_out, reporting_status
from sdgcube.indicators.land_cover import (
    UNCCD_TRANSITION_MATRIX,
    land_cover_degradation,
    norm_transition_matrix,
)
from sdgcube.indicators.soc import SocParams, soc_degradation, soc_percent_change

ND = CLASS_NODATA
TREE, GRASS, CROP, WETLAND, ARTIFICIAL, OTHER, WATER = range(1, 8)


# --- land cover ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [(TREE, CROP, -1), (TREE, GRASS, -1), (CROP, TREE, 1), (GRASS, CROP, 1), (CROP, GRASS, -1),
     (WETLAND, TREE, -1), (GRASS, ARTIFICIAL, -1), (ARTIFICIAL, OTHER, 1), (OTHER, ARTIFICIAL, -1),
     (TREE, WATER, 0), (WATER, WETLAND, 0), (WETLAND, WATER, 0), (CROP, CROP, 0)],
)  # fmt: skip
def test_unccd_default_matrix(before, after, expected):
    """Spot checks against the UNCCD / Trends.Earth default table."""
    assert UNCCD_TRANSITION_MATRIX[before - 1, after - 1] == expected
    assert land_cover_degradation(np.array([before]), np.array([after]))[0] == expected


def test_every_transition_reads_the_matrix():
    before, after = np.meshgrid(np.arange(1, 8), np.arange(1, 8), indexing="ij")
    np.testing.assert_array_equal(land_cover_degradation(before, after), UNCCD_TRANSITION_MATRIX)
    assert np.diag(UNCCD_TRANSITION_MATRIX).tolist() == [0] * 7
    assert not UNCCD_TRANSITION_MATRIX.flags.writeable


def test_land_cover_nodata():
    before = np.array([0, 8, 255, 1, 1, 1], dtype=np.uint8)
    after = np.array([1, 1, 1, 0, 9, 3], dtype=np.uint8)
    np.testing.assert_array_equal(land_cover_degradation(before, after), [ND, ND, ND, ND, ND, -1])
    floats = land_cover_degradation(np.array([np.nan, 1.0, 1.5]), np.array([3.0, np.nan, 3.0]))
    np.testing.assert_array_equal(floats, [ND, ND, ND])


def test_a_user_matrix_overrides_the_default():
    matrix = np.zeros((7, 7), dtype=int)
    matrix[TREE - 1, CROP - 1] = 1  # e.g. agroforestry counted as improvement
    assert land_cover_degradation(np.array([TREE]), np.array([CROP]), matrix=matrix)[0] == 1
    assert land_cover_degradation(np.array([TREE]), np.array([GRASS]), matrix=matrix)[0] == 0


@pytest.mark.parametrize(
    ("matrix", "message"),
    [(np.zeros((6, 7)), "7×7"), ([[0] * 7] * 6 + [[0, 0, 2, 0, 0, 0, 0]], r"cell \[6\]\[2\] is 2")],
)
def test_bad_matrices_are_refused(matrix, message):
    with pytest.raises(ValueError, match=message):
        norm_transition_matrix(matrix)


# --- soil organic carbon ---------------------------------------------------------------------------


def test_soc_change_at_the_ten_percent_boundaries():
    baseline = np.array([100, 100, 100, 100, 100, 45, 50, 0, -5, 100, 30], dtype=np.float64)
    target = np.array([90, 91, 110, 109, 100, 36, 55, 10, 10, np.nan, 27], dtype=np.float64)
    change = soc_percent_change(baseline, target)
    np.testing.assert_allclose(
        change, [-10, -9, 10, 9, 0, -20, 10, np.nan, np.nan, np.nan, -10], equal_nan=True
    )
    np.testing.assert_array_equal(soc_degradation(change), [-1, 0, 1, 0, 0, -1, 1, ND, ND, ND, -1])


def test_initial_water_is_nodata():
    change = soc_percent_change(
        np.array([50.0, 50.0]), np.array([30.0, 30.0]), baseline_water=np.array([True, False])
    )
    np.testing.assert_array_equal(soc_degradation(change), [ND, -1])


def test_soc_thresholds_are_parameters():
    change = np.array([-5.0, -4.9, 5.0], dtype=np.float32)
    np.testing.assert_array_equal(soc_degradation(change, params=SocParams(-5, 5)), [-1, 0, 1])
    with pytest.raises(ValueError, match="below improved_pct"):
        SocParams(degraded_pct=5, improved_pct=5)


# --- one-out-all-out and status --------------------------------------------------------------------

_CODES = (-1, 0, 1, ND)


def _one_out_all_out(*values: int) -> int:
    if ND in values:
        return ND
    return -1 if -1 in values else 1 if 1 in values else 0


def test_one_out_all_out_every_combination():
    combos = np.array(list(itertools.product(_CODES, repeat=3)), dtype=np.int8)
    result = one_out_all_out(combos[:, 0], combos[:, 1], combos[:, 2])
    assert result.dtype == np.int8
    np.testing.assert_array_equal(result, [_one_out_all_out(*c) for c in combos.tolist()])


def test_one_out_all_out_treats_unknown_codes_as_nodata_and_needs_layers():
    np.testing.assert_array_equal(one_out_all_out(np.array([5, 0]), np.array([0, 0])), [ND, 0])
    with pytest.raises(ValueError, match="at least one layer"):
        one_out_all_out()


@pytest.mark.parametrize(
    ("baseline", "reporting", "expected"),
    [(-1, -1, -1), (-1, 0, -1), (-1, 1, 0), (0, -1, -1), (0, 0, 0), (0, 1, 1), (1, -1, -1), (1, 0, 1),
     (1, 1, 1), (ND, 0, ND), (0, ND, ND)],
)  # fmt: skip
def test_reporting_status(baseline, reporting, expected):
    assert reporting_status(np.array([baseline]), np.array([reporting]))[0] == expected


def test_as_float():
    np.testing.assert_array_equal(
        as_float(np.array([-1, 0, 1, ND], dtype=np.int8)), [-1, 0, 1, np.nan]
    )
