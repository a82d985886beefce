"""Ground truth of the planted events, computed from the same masks the rasters are made from."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from odc.geo.geom import Geometry
from shapely import affinity
from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry

from sdgcube.datacube.demo import timeseries as ts
from sdgcube.datacube.demo.landscape import CRS, PIXEL_SIZE, Landscape

__all__ = [
    "PIXEL_AREA_KM2", "Contents", "admin_units_geojson", "events_geojson", "pixel_counts",
    "truth_document",
]  # fmt: skip

PIXEL_AREA_KM2 = PIXEL_SIZE * PIXEL_SIZE / 1e6


def _km2(pixels: float) -> float:
    return round(float(pixels) * PIXEL_AREA_KM2, 6)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


@dataclass(frozen=True)
class Contents:
    """What a demo archive holds: its years and products (the ``country`` size only what
    sdg-15-3-1 reads)."""

    years: tuple[int, ...] = ts.YEARS
    products: tuple[str, ...] = ()

    def has(self, product: str) -> bool:
        return not self.products or product in self.products


def pixel_counts(ls: Landscape, years: Sequence[int]) -> dict[str, float]:
    """The pixel counts the truth is made of, over ``ls``'s window: a grid's are its windows' sums."""
    counts: dict[str, float] = {
        "land": ls.land.sum(), "deforested": ls.deforested.sum(), "rangeland": ls.rangeland.sum(),
        "burn_core": ls.burn_core.sum(), "burn_ring": ls.burn_ring.sum(),
        "burnt": (ls.burn_core | ls.burn_ring).sum(),
        "soc_degraded": ((ls.deforested | ls.rangeland) & ls.land).sum(),
        "lake_region": ls.lake_full.sum(),
    }  # fmt: skip
    for y in years:
        counts[f"permanent/{y}"] = ts.permanent_lake(ls, y).sum()
        counts[f"seasonal/{y}"] = ts.seasonal_lake(ls, y).sum()
    for y in ts.BUILT_UP_YEARS:
        counts[f"built/{y}"] = ts.built_up(ls, y).sum()
    return {name: int(count) for name, count in counts.items()}


def _lake(counts: dict[str, float], years: Sequence[int]) -> dict[str, Any]:
    permanent = {y: _km2(counts[f"permanent/{y}"]) for y in years}
    seasonal = {y: _km2(counts[f"seasonal/{y}"]) for y in years}
    region = counts["lake_region"]
    wet_share = len(ts.WET_QUARTERS) / len(ts.QUARTER_DATES)
    baseline = _mean([permanent[y] for y in range(2000, 2005)])
    reporting = _mean([permanent[y] for y in range(2020, 2025)])
    return {
        "region_pixels": int(region),
        "decline_starts": ts.LAKE_DECLINE_START,
        "wet_quarters": [q + 1 for q in ts.WET_QUARTERS],
        "permanent_km2": permanent,
        "seasonal_km2": seasonal,
        "water_fraction": {
            y: round((counts[f"permanent/{y}"] + wet_share * counts[f"seasonal/{y}"]) / region, 6)
            for y in years
        },
        "baseline_2000_2004_permanent_km2": round(baseline, 6),
        "reporting_2020_2024_permanent_km2": round(reporting, 6),
        "permanent_change_pct": round((reporting - baseline) / baseline * 100, 4),
    }


def _urban(counts: dict[str, float]) -> dict[str, Any]:
    built = {y: _km2(counts[f"built/{y}"]) for y in ts.BUILT_UP_YEARS}
    pop = {y: ts.total_population(y) for y in ts.POPULATION_YEARS}

    def lcrpgr(y1: int, y2: int) -> float:
        years = y2 - y1
        return (math.log(built[y2] / built[y1]) / years) / (math.log(pop[y2] / pop[y1]) / years)

    return {
        "built_up_km2": built,
        "population": {y: round(p, 3) for y, p in pop.items()},
        "lcrpgr": {
            "2000-2020": round(lcrpgr(2000, 2020), 6),
            "2010-2020": round(lcrpgr(2010, 2020), 6),
        },
    }


def _burn_scar(counts: dict[str, float]) -> dict[str, Any]:
    return {
        "year": ts.BURN_YEAR,
        "pre_year": ts.BURN_YEAR - 1,
        "dnbr": ts.BURN_DNBR,
        "severity": {"core": "high", "ring": "moderate-low"},
        "core_pixels": counts["burn_core"],
        "ring_pixels": counts["burn_ring"],
        "area_km2": _km2(counts["burnt"]),
    }


def truth_document(
    ls: Landscape | dict[str, float], *, size: str, seed: int, chips: list[dict[str, Any]],
    contents: Contents = Contents(),
) -> dict[str, Any]:  # fmt: skip
    """The truth of a whole-grid landscape, or of a grid's summed :func:`pixel_counts`.

    Events outside the archive's years or products (``country``: the lake's water observations,
    the town, the 2018 burn) are left out."""
    years = contents.years
    counts = pixel_counts(ls, years) if isinstance(ls, Landscape) else ls
    document: dict[str, Any] = {
        "size": size,
        "seed": seed,
        "crs": CRS,
        "pixel_size_m": PIXEL_SIZE,
        "pixel_area_km2": PIXEL_AREA_KM2,
        "years": [years[0], years[-1]],
        "land_km2": _km2(counts["land"]),
        "deforestation": {
            "year": ts.DEFORESTATION_YEAR,
            "from_class": 1,
            "to_class": 3,
            "pixels": counts["deforested"],
            "area_km2": _km2(counts["deforested"]),
        },
        "rangeland_degradation": {
            "ndvi_2000": ts.RANGELAND_NDVI_2000,
            "ndvi_slope_per_year": ts.RANGELAND_SLOPE,
            "pixels": counts["rangeland"],
            "area_km2": _km2(counts["rangeland"]),
        },
    }
    if contents.has("surface_water"):
        document["lake"] = _lake(counts, years)
    if contents.has("built_up"):
        document["urban"] = _urban(counts)
    if ts.BURN_YEAR in years:
        document["burn_scar"] = _burn_scar(counts)
    document["soil_organic_carbon"] = {
        "years": list(ts.SOC_YEARS),
        "loss_fraction": ts.SOC_LOSS,
        "degraded_pixels": counts["soc_degraded"],
        "degraded_km2": _km2(counts["soc_degraded"]),
    }
    document["slc_off_years"] = [y for y in ts.SLC_OFF_YEARS if y in years]
    document["chips"] = chips
    if contents.products:
        document["products"] = list(contents.products)
    return document


def _to_wgs84(shape: BaseGeometry, ls: Landscape) -> dict[str, Any]:
    t = ls.grid.transform
    projected = affinity.affine_transform(shape, [t.a, t.b, t.d, t.e, t.c, t.f])
    return mapping(Geometry(projected, crs=CRS).to_crs("EPSG:4326").geom)


def events_geojson(ls: Landscape) -> dict[str, Any]:
    names = ("lake", "rangeland", "deforestation", "burn_scar", "burn_core", "town", "forest")
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": name,
                "properties": {"event": name},
                "geometry": _to_wgs84(ls.shapes[name], ls),
            }
            for name in names
        ],
    }


def admin_units_geojson(ls: Landscape) -> dict[str, Any]:
    """Four districts: the grid cut into quadrants, clipped to the island."""
    n = ls.grid.size
    island = ls.shapes["island"]
    quadrants = {
        "D1": ("North-West", box(0, 0, n / 2, n / 2)),
        "D2": ("North-East", box(n / 2, 0, n, n / 2)),
        "D3": ("South-West", box(0, n / 2, n / 2, n)),
        "D4": ("South-East", box(n / 2, n / 2, n, n)),
    }
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": code,
                "properties": {"unit_id": code, "name": name},
                "geometry": _to_wgs84(quadrant.intersection(island), ls),
            }
            for code, (name, quadrant) in quadrants.items()
        ],
    }
