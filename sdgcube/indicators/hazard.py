"""SDG 13.1.1 (also 1.5.1, 11.5.1) kernels: persons directly affected by a hazard per 100 000 people.

A hazard extent (a flood or burnt-area mask, a polygon burnt into the grid) is laid over a gridded
population (persons per pixel). Per reporting unit:

    affected = Σ population over pixels inside the hazard extent      (persons)
    total    = Σ population over every pixel of the unit              (persons)
    affected per 100 000 = affected / total × 100 000

Population nodata (NaN) is not counted in either sum; a hazard pixel without data is not hazard.
"""

from __future__ import annotations

import numpy as np

from sdgcube.indicators.urban import population_by_unit

__all__ = ["affected_per_100k", "exposed_population_by_unit", "hazard_mask"]


def hazard_mask(
    values: np.ndarray, *, min_value: float = 1.0, max_value: float | None = None
) -> np.ndarray:
    """bool ``(y, x)``: true where any time slice of ``values`` lies in [min_value, max_value].

    ``values`` is ``(y, x)`` or ``(time, y, x)`` (a 0/1 mask, class codes such as burn severity, or
    a continuous hazard); NaN is no data, never hazard. ``max_value`` None means no upper bound."""
    data = np.asarray(values)
    if data.ndim == 2:
        data = data[np.newaxis]
    if data.ndim != 3:
        raise ValueError(f"hazard values must be (y, x) or (time, y, x), not {data.ndim}-D")
    with np.errstate(invalid="ignore"):
        inside = data >= min_value
        if max_value is not None:
            inside &= data <= max_value
    return inside.any(axis=0)


def exposed_population_by_unit(
    population: np.ndarray, hazard: np.ndarray, units: np.ndarray, *, n_units: int
) -> np.ndarray:
    """float64 ``(n_units, 2)``: total persons per unit, and persons inside the hazard extent."""
    return population_by_unit(population, units, n_units=n_units, inside=hazard)


def affected_per_100k(affected: np.ndarray | float, population: np.ndarray | float) -> np.ndarray:
    """float64 affected / population × 100 000; NaN where the population is 0 or less."""
    a = np.asarray(affected, dtype=np.float64)
    p = np.asarray(population, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, a / p * 100_000.0, np.nan)
