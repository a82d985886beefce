"""Per-unit percentiles from blocks: the same numbers as sorting each unit's values at once."""

from __future__ import annotations

import numpy as np
import pytest

from sdgcube.indicators.percentile import UnitHistogram, gather_values, rank_bins, unit_references


def _blockwise(
    values: np.ndarray, units: np.ndarray, q: float, side: int
) -> tuple[np.ndarray, np.ndarray]:
    blocks = [(values[r : r + side, c : c + side], units[r : r + side, c : c + side])
              for r in range(0, values.shape[0], side) for c in range(0, values.shape[1], side)]  # fmt: skip
    histogram = UnitHistogram.of(*blocks[0])
    for block in blocks[1:]:
        histogram = histogram + UnitHistogram.of(*block)
    ranks = rank_bins(histogram, q)
    return ranks.codes, unit_references(ranks, [gather_values(v, u, ranks) for v, u in blocks])


@pytest.mark.parametrize("q", [0.0, 37.5, 90.0, 100.0])
def test_blockwise_percentile_is_numpys_exactly(q: float) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(0.4, 0.2, (96, 80)).astype(np.float32)
    values[rng.random(values.shape) < 0.1] = np.nan
    values[:5, :5] = 0.25  # ties, some of them on a bin edge
    units = rng.integers(-1, 4, values.shape) * (1 << 32) + 7
    units[units < 0] = -1
    codes, references = _blockwise(values, units, q, side=17)
    expected = [
        np.percentile(values[(units == c) & np.isfinite(values)].astype(np.float64), q)
        for c in codes
    ]
    assert sorted(set(units[units >= 0].tolist())) == codes.tolist()
    np.testing.assert_array_equal(references, expected)


def test_values_beyond_the_bins_and_a_constant_unit() -> None:
    values = np.array([[5.0, -3.0, 0.5, 0.5], [0.5, 0.5, 0.5, np.nan]])
    units = np.array([[1, 1, 2, 2], [2, 2, 2, 2]])
    codes, references = _blockwise(values, units, 90.0, side=1)
    assert codes.tolist() == [1, 2]
    np.testing.assert_array_equal(references, [np.percentile([5.0, -3.0], 90), 0.5])
