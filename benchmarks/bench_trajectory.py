"""The SDG 15.3.1 trajectory kernel (OLS slope + Mann–Kendall S + significance per pixel) against a
scipy per-pixel reference (``linregress`` + ``kendalltau``), in pixels per second per core.

Run: ``.venv/bin/python benchmarks/bench_trajectory.py [--pixels 1000000] [--reference-pixels 3000]
[--years 16] [--repeat 3]``. Both run on the same random stack (annual NDVI-like series with random
trends, noise and 10 % missing years). The kernel runs single-threaded (one core), then on every
numba thread; the reference is a Python loop over the first ``--reference-pixels`` pixels on one
core. The trend classes of the two are compared on those pixels; the ratio is single-core kernel
pixels/s ÷ reference pixels/s (goal ≥ 50).
"""

from __future__ import annotations

import argparse
import os

import numba
import numpy as np
from _common import best_of
from scipy import stats

from sdgcube.indicators.degradation import CLASS_NODATA
from sdgcube.indicators.trend import TrajectoryParams, critical_s, trajectory


def _stack(pixels: int, years: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(years)
    values = (
        0.5
        + rng.uniform(-0.02, 0.02, size=(pixels, 1)) * t
        + rng.normal(0, 0.03, size=(pixels, years))
    )
    values[rng.random(values.shape) < 0.10] = np.nan
    return values.astype(np.float32)


def _reference(
    values: np.ndarray, years: np.ndarray, params: TrajectoryParams
) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel: slope from linregress, S from kendalltau's tau over the years with data, tested as
    Trends.Earth does (|S| against the critical value for the period's length, direction from the slope)."""
    slopes = np.full(len(values), np.nan)
    classes = np.full(len(values), CLASS_NODATA, dtype=np.int8)
    critical = critical_s(len(years), params.confidence)
    for i, series in enumerate(values):
        ok = ~np.isnan(series)
        n = int(ok.sum())
        if n < params.min_years:
            continue
        y = series[ok].astype(np.float64)
        slopes[i] = stats.linregress(years[ok], y).slope
        s = round(stats.kendalltau(years[ok], y).statistic * n * (n - 1) / 2)
        significant = abs(s) >= critical
        classes[i] = (-1 if significant and slopes[i] < -params.slope_threshold
                      else 1 if significant and slopes[i] > params.slope_threshold else 0)  # fmt: skip
    return slopes, classes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pixels", type=int, default=1_000_000)
    parser.add_argument("--reference-pixels", type=int, default=3000)
    parser.add_argument("--years", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    params = TrajectoryParams()
    values = _stack(args.pixels, args.years, args.seed)
    years = np.arange(2000, 2000 + args.years)
    trajectory(values[:100], years, params=params)  # compile (or load from numba's cache)
    trajectory(values[:100], years, params=params, parallel=True)
    print(f"stack: {args.pixels:,} pixels x {args.years} years, float32, 10 % missing; "
          f"{os.cpu_count()} CPUs, {numba.get_num_threads()} numba threads")  # fmt: skip

    t_serial, result = best_of(lambda: trajectory(values, years, params=params), args.repeat)
    t_parallel, _ = best_of(
        lambda: trajectory(values, years, params=params, parallel=True), args.repeat
    )
    sample = values[: args.reference_pixels]
    t_scipy, (ref_slopes, ref_classes) = best_of(lambda: _reference(sample, years, params), 1)  # type: ignore[misc]

    kernel = result.trend[: args.reference_pixels]  # type: ignore[attr-defined]
    agree = np.mean(kernel == ref_classes)
    slopes = result.slope[: args.reference_pixels]  # type: ignore[attr-defined]
    close = np.allclose(slopes, ref_slopes, rtol=1e-5, atol=1e-7, equal_nan=True)
    serial = args.pixels / t_serial
    parallel = args.pixels / t_parallel
    scipy_rate = args.reference_pixels / t_scipy
    print(f"kernel, 1 thread        : {serial:14,.0f} px/s per core  ({t_serial:.3f} s)")
    print(f"kernel, {numba.get_num_threads()} threads       : {parallel:14,.0f} px/s  "
          f"({parallel / numba.get_num_threads():,.0f} px/s per core)")  # fmt: skip
    print(
        f"scipy per-pixel loop    : {scipy_rate:14,.0f} px/s per core  ({args.reference_pixels:,} px in {t_scipy:.2f} s)"
    )
    print(f"classes agree on {agree:.2%} of the reference pixels; slopes equal: {close}")
    print(f"ratio kernel/scipy (per core): {serial / scipy_rate:,.0f}x  (goal >= 50x)")


if __name__ == "__main__":
    main()
