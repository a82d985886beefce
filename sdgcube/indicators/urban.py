"""SDG 11.3.1 kernels: land consumption rate, population growth rate and their ratio (LCRPGR).

With built-up areas Urb₁, Urb₂ (km²) and populations Pop₁, Pop₂ (persons) at two dates ``years``
apart (UN-Habitat metadata 11.3.1):

    LCR = ln(Urb₂ / Urb₁) / y          land consumption rate, per year
    PGR = ln(Pop₂ / Pop₁) / y          population growth rate, per year
    LCRPGR = LCR / PGR                 dimensionless ratio

Every function takes scalars or arrays (one value per reporting unit) and returns float64; a value
whose logarithm is undefined (an area or population ≤ 0 or NaN), ``years`` ≤ 0 or a zero growth rate
gives NaN.
"""

from __future__ import annotations

import numpy as np

from sdgcube.indicators._numba import ngjit

__all__ = [
    "built_up_per_capita",
    "land_consumption_rate",
    "lcrpgr",
    "population_by_unit",
    "population_growth_rate",
]

ArrayLike = np.ndarray | float


def _log_rate(first: ArrayLike, second: ArrayLike, years: float) -> np.ndarray:
    a = np.asarray(first, dtype=np.float64)
    b = np.asarray(second, dtype=np.float64)
    if years <= 0:
        return np.full(np.broadcast(a, b).shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((a > 0) & (b > 0), np.log(b / a) / years, np.nan)


def land_consumption_rate(urban_1: ArrayLike, urban_2: ArrayLike, years: float) -> np.ndarray:
    """LCR = ln(Urb₂ / Urb₁) / y, per year."""
    return _log_rate(urban_1, urban_2, years)


def population_growth_rate(
    population_1: ArrayLike, population_2: ArrayLike, years: float
) -> np.ndarray:
    """PGR = ln(Pop₂ / Pop₁) / y, per year."""
    return _log_rate(population_1, population_2, years)


def lcrpgr(
    urban_1: ArrayLike,
    urban_2: ArrayLike,
    population_1: ArrayLike,
    population_2: ArrayLike,
    *,
    years: float,
) -> np.ndarray:
    """LCRPGR = [ln(Urb₂/Urb₁)/y] / [ln(Pop₂/Pop₁)/y]; NaN where either rate is undefined or PGR = 0."""
    lcr = land_consumption_rate(urban_1, urban_2, years)
    pgr = population_growth_rate(population_1, population_2, years)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pgr != 0, lcr / pgr, np.nan)


def built_up_per_capita(urban_km2: ArrayLike, population: ArrayLike) -> np.ndarray:
    """Built-up area per person in m² (the secondary 11.3.1 indicator); NaN where population ≤ 0."""
    area = np.asarray(urban_km2, dtype=np.float64)
    persons = np.asarray(population, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(persons > 0, area * 1e6 / persons, np.nan)


@ngjit
def _population_sums(
    population: np.ndarray, units: np.ndarray, inside: np.ndarray, out: np.ndarray
) -> None:
    for i in range(population.size):
        unit = units.flat[i]
        value = population.flat[i]
        if unit <= 0 or unit > out.shape[0] or np.isnan(value):
            continue
        out[unit - 1, 0] += value
        if inside.flat[i]:
            out[unit - 1, 1] += value


def population_by_unit(
    population: np.ndarray, units: np.ndarray, *, n_units: int, inside: np.ndarray | None = None
) -> np.ndarray:
    """float64 ``(n_units, 2)``: persons per unit, and of them those where ``inside`` is true.

    ``population`` is persons per pixel (NaN = nodata, not counted); ``units`` is a unit-index raster
    (0 outside every unit, i for unit i − 1); ``inside`` a boolean mask (none: column 1 is 0)."""
    if population.shape != units.shape:
        raise ValueError(f"shapes differ: population {population.shape}, units {units.shape}")
    mask = (
        np.zeros(units.shape, dtype=np.bool_)
        if inside is None
        else np.asarray(inside, dtype=np.bool_)
    )
    if mask.shape != units.shape:
        raise ValueError(f"shapes differ: inside {mask.shape}, units {units.shape}")
    out = np.zeros((n_units, 2), dtype=np.float64)
    values = np.ascontiguousarray(population, dtype=np.float64)
    _population_sums(values, np.ascontiguousarray(units), np.ascontiguousarray(mask), out)
    return out
