"""Windows anchored on the product's grid and their blending: no seams, the same pixels whatever
the area asked for."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from sdgcube.models.windows import Area, WindowGrid, blend_weights

IMAGE = np.random.default_rng(4).random((300, 300))


def _predict(window: Area) -> np.ndarray:
    """A model with edge effects: a blur that sees only its window (zeros beyond it)."""
    rows = slice(max(window.row, 0), window.row + window.rows)
    cols = slice(max(window.col, 0), window.col + window.cols)
    chip = np.zeros((window.rows, window.cols))
    part = IMAGE[rows, cols]
    chip[rows.start - window.row : rows.start - window.row + part.shape[0],
         cols.start - window.col : cols.start - window.col + part.shape[1]] = part  # fmt: skip
    return gaussian_filter(chip, 2, mode="constant")


def _run(grid: WindowGrid, area: Area) -> np.ndarray:
    return grid.blend(area, ((w, _predict(w)) for w in grid.windows(area)))


def test_weights_of_overlapping_windows_add_up_to_one() -> None:
    weights = blend_weights(8, 3)
    assert weights.shape == (8, 8) and (weights > 0).all() and np.allclose(weights, weights.T)
    # along one axis: stride 5, the tail of a window meets the head of the next
    line = weights[4]
    assert np.allclose(line[5:] + line[:3], line[4])


@pytest.mark.parametrize(("size", "overlap"), [(64, 16), (64, 32), (50, 0), (37, 11)])
def test_a_constant_prediction_stays_constant(size, overlap) -> None:
    grid, area = WindowGrid(size, overlap), Area(13, 7, 120, 90)
    blended = grid.blend(area, ((w, np.full((size, size), 0.7)) for w in grid.windows(area)))
    assert np.allclose(blended, 0.7)


def test_a_sub_area_equals_the_same_pixels_of_a_larger_run() -> None:
    grid = WindowGrid(64, 16)
    large, small = Area(0, 0, 256, 256), Area(70, 101, 45, 61)
    expected = _run(grid, large)[small.slices_in(large)]
    assert np.array_equal(_run(grid, small), expected)


def test_blending_is_closer_to_the_whole_image_than_hard_tiles() -> None:
    """Edges of a window see the least context; tapering them away lowers the error near the
    seams of hard, non-overlapping tiles."""
    area = Area(64, 64, 128, 128)
    truth = gaussian_filter(IMAGE, 2, mode="constant")[area.slices_in(Area(0, 0, 300, 300))]
    blended = np.abs(_run(WindowGrid(64, 32), area) - truth).max()
    tiled = np.abs(_run(WindowGrid(64, 0), area) - truth).max()
    assert blended < tiled / 3


def test_windows_start_on_the_grid_and_cover_the_area() -> None:
    grid, area = WindowGrid(64, 16), Area(100, -30, 10, 200)
    windows = list(grid.windows(area))
    assert all(w.row % 48 == 0 and w.col % 48 == 0 for w in windows)
    covered = np.zeros((area.rows, area.cols), dtype=int)
    for w in windows:
        rows = slice(
            max(w.row, area.row) - area.row, min(w.row + 64, area.row + area.rows) - area.row
        )
        cols = slice(
            max(w.col, area.col) - area.col, min(w.col + 64, area.col + area.cols) - area.col
        )
        covered[rows, cols] += 1
    assert covered.min() >= 1 and covered.max() == 4


def test_bad_grids_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap"):
        WindowGrid(64, 40)


def test_a_left_out_window_leaves_its_neighbours_normalised_and_no_window_leaves_nan() -> None:
    grid, area = WindowGrid(64, 16), Area(0, 0, 100, 100)
    windows = list(grid.windows(area))
    left_out = windows[0]  # (-48, -48): its cell, rows and cols -48 … -1, lies outside the area
    blended = grid.blend(area, ((w, np.full((64, 64), 0.3)) for w in windows[1:]))
    assert np.allclose(blended, 0.3)  # the pixels it shared keep the value of the others
    only = grid.blend(area, iter([(Area(0, 0, 64, 64), np.full((64, 64), 0.5))]))
    assert (
        np.allclose(only[:64, :64], 0.5)
        and np.isnan(only[64:, :]).all()
        and np.isnan(only[:, 64:]).all()
    )
    assert grid.cell(left_out) == Area(-48, -48, 48, 48)


def test_cells_tile_the_plane_each_inside_its_window() -> None:
    grid, area = WindowGrid(64, 16), Area(-30, 7, 200, 150)
    counts = np.zeros((area.rows, area.cols), dtype=int)
    for window in grid.windows(area):
        cell = grid.cell(window)
        cell.slices_in(window)  # raises unless inside
        top, left = max(cell.row, area.row), max(cell.col, area.col)
        bottom, right = (
            min(cell.row + cell.rows, area.row + area.rows),
            min(cell.col + cell.cols, area.col + area.cols),
        )
        if bottom > top and right > left:
            counts[Area(top, left, bottom - top, right - left).slices_in(area)] += 1
    assert (counts == 1).all()
