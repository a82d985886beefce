"""What the demo island looks like in a given year or quarter: land cover, surface reflectance,
water, built-up land, population and soil carbon, with the planted events. Pure numpy, for one
window of the grid (the whole grid for small and medium)."""

from __future__ import annotations

import numpy as np

from sdgcube.datacube.demo.landscape import Landscape
from sdgcube.datacube.demo.noise import Noise, WholeNoise

__all__ = [
    "BUILT_UP_YEARS",
    "BURN_DNBR",
    "BURN_YEAR",
    "DEFORESTATION_YEAR",
    "LAKE_DECLINE_START",
    "POPULATION_YEARS",
    "QUARTER_DATES",
    "RANGELAND_SLOPE",
    "SLC_OFF_YEARS",
    "SOC_NODATA",
    "SOC_YEARS",
    "SR_NODATA",
    "YEARS",
    "annual_composite",
    "built_up",
    "clean_ndvi",
    "land_cover",
    "permanent_lake",
    "population",
    "seasonal_lake",
    "soil_carbon",
    "total_population",
    "town_radius",
    "water_observation",
]  # fmt: skip

YEARS = tuple(range(2000, 2025))
QUARTER_DATES = ((2, 15), (5, 15), (8, 15), (11, 15))
WET_QUARTERS = (0, 1)
BUILT_UP_YEARS = (2000, 2005, 2010, 2015, 2020)
POPULATION_YEARS = (2000, 2010, 2020)
SOC_YEARS = (2000, 2020)
DEFORESTATION_YEAR = 2012
BURN_YEAR = 2018
BURN_RECOVERY_YEARS = 5
BURN_DNBR = {"core": 0.85, "ring": 0.35}
LAKE_DECLINE_START = 2010
LAKE_SHRINK_PER_YEAR = 0.045
RANGELAND_NDVI_2000 = 0.62
RANGELAND_SLOPE = -0.012
SLC_OFF_YEARS = (2003, 2007, 2011)
POPULATION_2000 = 40_000.0
POPULATION_GROWTH = 0.015
SR_NODATA = -9999
SOC_NODATA = -32768
SOC_LOSS = {"deforested": 0.20, "rangeland": 0.15}

# Land cover codes of the UNCCD legend (see products/land_cover.yaml).
TREE, GRASS, CROP, WETLAND, ARTIFICIAL, OTHER, WATER = range(1, 8)
_NDVI = {TREE: 0.82, GRASS: 0.55, CROP: 0.62, WETLAND: 0.35, ARTIFICIAL: 0.18, OTHER: 0.12}
_SOC = {TREE: 90, GRASS: 55, CROP: 45, WETLAND: 120, ARTIFICIAL: 30, OTHER: 20}
_WATER_SR = {
    "blue": 0.08,
    "green": 0.07,
    "red": 0.03,
    "nir08": 0.02,
    "swir16": 0.012,
    "swir22": 0.008,
}


def town_radius(ls: Landscape, year: int) -> float:
    """Radius in pixels of the built-up town disc: grows 4 % of its 2000 radius a year."""
    return 0.045 * ls.grid.size * (1 + 0.04 * (year - 2000))


def built_up(ls: Landscape, year: int) -> np.ndarray:
    return ls.town(town_radius(ls, year))


def permanent_lake(ls: Landscape, year: int) -> np.ndarray:
    """Water in every observation of the year: the full lake until 2009, then a shrinking core."""
    shrink = max(0, year - (LAKE_DECLINE_START - 1)) * LAKE_SHRINK_PER_YEAR
    return ls.lake_disc(1.0 - shrink) & ls.lake_full


def seasonal_lake(ls: Landscape, year: int) -> np.ndarray:
    """Water in the wet quarters only: the former lake bed around the permanent core."""
    return ls.lake_full & ~permanent_lake(ls, year)


def land_cover(ls: Landscape, year: int) -> np.ndarray:
    lc = np.full(ls.shape, GRASS, dtype=np.uint8)
    lc[ls.cropland] = CROP
    lc[ls.forest | ls.deforested] = TREE
    if year >= DEFORESTATION_YEAR:
        lc[ls.deforested] = CROP
    lc[ls.rangeland] = GRASS
    lc[ls.coast] = OTHER
    lc[built_up(ls, year)] = ARTIFICIAL
    lc[seasonal_lake(ls, year)] = WETLAND
    lc[permanent_lake(ls, year)] = WATER
    lc[~ls.land] = WATER
    return lc


def _burn_factor(year: int) -> float:
    """1 in the burn year, falling linearly to 0 as the vegetation recovers."""
    if year < BURN_YEAR:
        return 0.0
    return max(0.0, 1.0 - (year - BURN_YEAR) / BURN_RECOVERY_YEARS)


def clean_ndvi(ls: Landscape, year: int) -> np.ndarray:
    """Noise-free NDVI of the land surface (water pixels get their own reflectance later)."""
    lc = land_cover(ls, year)
    ndvi = np.zeros(ls.shape, dtype=np.float64)
    for code, value in _NDVI.items():
        ndvi[lc == code] = value
    ndvi += 0.04 * ls.relief
    ndvi[ls.rangeland] = (
        RANGELAND_NDVI_2000 + RANGELAND_SLOPE * (year - 2000) + 0.02 * ls.relief[ls.rangeland]
    )
    if year == DEFORESTATION_YEAR:
        ndvi[ls.deforested] = 0.30
    burn = _burn_factor(year)
    ndvi[ls.burn_core] -= burn * 0.60
    ndvi[ls.burn_ring] -= burn * 0.35
    return ndvi


def _reflectance_from_ndvi(ndvi: np.ndarray) -> dict[str, np.ndarray]:
    green_veg = np.clip(ndvi, 0, 1)
    nir = 0.22 + 0.25 * green_veg
    red = nir * (1 - ndvi) / (1 + ndvi)
    green = 0.5 * red + 0.04 + 0.02 * green_veg
    swir16 = 0.30 - 0.18 * green_veg
    swir22 = 0.22 - 0.16 * green_veg
    return {
        "blue": 0.6 * green + 0.01,
        "green": green,
        "red": red,
        "nir08": nir,
        "swir16": swir16,
        "swir22": swir22,
    }


def _nbr(bands: dict[str, np.ndarray]) -> np.ndarray:
    return (bands["nir08"] - bands["swir22"]) / (bands["nir08"] + bands["swir22"])


def _noise(ls: Landscape, rng: np.random.Generator | Noise) -> Noise:
    return WholeNoise(rng, ls.shape) if isinstance(rng, np.random.Generator) else rng


def _slc_fill(ls: Landscape) -> np.ndarray:
    """The stripes a failed scan-line corrector leaves without data."""
    w = ls.window
    diagonal = np.add.outer(np.arange(w.row, w.row + w.height), np.arange(w.col, w.col + w.width))
    return (diagonal % 25) < 2


def _apply_burn(ls: Landscape, year: int, bands: dict[str, np.ndarray]) -> None:
    """Set SWIR2 in the burn year so dNBR against the year before is exactly the planted value."""
    if year != BURN_YEAR:
        return
    nbr_before = _nbr(_reflectance_from_ndvi(clean_ndvi(ls, year - 1)))
    for zone, mask in (("core", ls.burn_core), ("ring", ls.burn_ring)):
        nbr_after = nbr_before[mask] - BURN_DNBR[zone]
        nir = bands["nir08"][mask]
        bands["swir22"][mask] = nir * (1 - nbr_after) / (1 + nbr_after)


def annual_composite(
    ls: Landscape, year: int, rng: np.random.Generator | Noise
) -> dict[str, np.ndarray]:
    """The six int16 reflectance bands (×10 000) and the pixel-quality flags of one year."""
    noise = _noise(ls, rng)
    ndvi = clean_ndvi(ls, year) + noise.normal(0.012)
    bands = _reflectance_from_ndvi(ndvi)
    _apply_burn(ls, year, bands)
    water = land_cover(ls, year) == WATER
    for name, reflectance in _WATER_SR.items():
        bands[name][water] = reflectance
    cloud, moved = noise.blobs(0.04, moved=4)
    cloud_shadow = moved & ~cloud
    pq = np.zeros(ls.shape, dtype=np.uint8)
    pq[water] |= 8
    pq[cloud] |= 2
    pq[cloud_shadow] |= 4
    fill = _slc_fill(ls) if year in SLC_OFF_YEARS else None
    out: dict[str, np.ndarray] = {}
    for name, band in bands.items():
        value = band + noise.normal(0.002)
        value[cloud] = noise.uniform_at(cloud, 0.35, 0.45)
        value[cloud_shadow] *= 0.4
        scaled = np.clip(np.round(value * 10_000), -2000, 16000).astype(np.int16)
        if fill is not None:
            scaled[fill] = SR_NODATA
        out[name] = scaled
    if fill is not None:
        pq[fill] = 1
    out["pixel_quality"] = pq
    return out


def water_observation(
    ls: Landscape, year: int, quarter: int, gap_quarter: int, rng: np.random.Generator | Noise
) -> np.ndarray:
    """One quarterly water observation (0 dry, 1 water, 255 no observation).

    Clouds hide pixels in one quarter a year only, so every pixel keeps a wet and a dry look."""
    obs = np.zeros(ls.shape, dtype=np.uint8)
    obs[~ls.land | permanent_lake(ls, year)] = 1
    if quarter in WET_QUARTERS:
        obs[seasonal_lake(ls, year)] = 1
    if quarter == gap_quarter:
        obs[_noise(ls, rng).blobs(0.12)[0]] = 255
    return obs


def total_population(year: int) -> float:
    return POPULATION_2000 * (1 + POPULATION_GROWTH) ** (year - 2000)


def population(ls: Landscape, year: int) -> np.ndarray:
    """Persons per pixel: 25 times denser on built-up land than on other dry land; none at sea.

    Shares the total over the landscape's window: whole grids only."""
    town = built_up(ls, year)
    weight = np.where(town, 25.0, np.where(ls.land & ~ls.lake_full, 1.0, 0.0))
    return (total_population(year) * weight / weight.sum()).astype(np.float32)


def soil_carbon(ls: Landscape, year: int, rng: np.random.Generator | Noise) -> np.ndarray:
    """Topsoil organic carbon (t/ha); the deforested patch and the rangeland lose carbon by 2020."""
    lc = land_cover(ls, SOC_YEARS[0])
    soc = np.zeros(ls.shape, dtype=np.float64)
    for code, value in _SOC.items():
        soc[lc == code] = value
    soc += 5 * ls.relief
    if year != SOC_YEARS[0]:
        soc *= 1 + _noise(ls, rng).normal(0.01)
        soc[ls.deforested] *= 1 - SOC_LOSS["deforested"]
        soc[ls.rangeland] *= 1 - SOC_LOSS["rangeland"]
    out = np.round(soc).astype(np.int16)
    out[land_cover(ls, year) == WATER] = SOC_NODATA
    return out
