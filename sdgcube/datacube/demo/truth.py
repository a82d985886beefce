"""Ground truth of the planted events, computed from the same masks the rasters are made from."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from odc.geo.geom import Geometry
from shapely import affinity
from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry

from sdgcube.datacube.demo import timeseries as ts
from sdgcube.datacube.demo.landscape import CRS, PIXEL_SIZE, Landscape

__all__ = ["PIXEL_AREA_KM2", "admin_units_geojson", "events_geojson", "truth_document"]

PIXEL_AREA_KM2 = PIXEL_SIZE * PIXEL_SIZE / 1e6


def _km2(mask: np.ndarray) -> float:
    return round(float(mask.sum()) * PIXEL_AREA_KM2, 6)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _lake(ls: Landscape) -> dict[str, Any]:
    permanent = {y: _km2(ts.permanent_lake(ls, y)) for y in ts.YEARS}
    seasonal = {y: _km2(ts.seasonal_lake(ls, y)) for y in ts.YEARS}
    region = float(ls.lake_full.sum())
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
            y: round(
                (ts.permanent_lake(ls, y).sum() + wet_share * ts.seasonal_lake(ls, y).sum())
                / region,
                6,
            )
            for y in ts.YEARS
        },
        "baseline_2000_2004_permanent_km2": round(baseline, 6),
        "reporting_2020_2024_permanent_km2": round(reporting, 6),
        "permanent_change_pct": round((reporting - baseline) / baseline * 100, 4),
    }


def _urban(ls: Landscape) -> dict[str, Any]:
    built = {y: _km2(ts.built_up(ls, y)) for y in ts.BUILT_UP_YEARS}
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


def truth_document(
    ls: Landscape, *, size: str, seed: int, chips: list[dict[str, Any]]
) -> dict[str, Any]:
    soc_degraded = (ls.deforested | ls.rangeland) & ls.land
    return {
        "size": size,
        "seed": seed,
        "crs": CRS,
        "pixel_size_m": PIXEL_SIZE,
        "pixel_area_km2": PIXEL_AREA_KM2,
        "years": [ts.YEARS[0], ts.YEARS[-1]],
        "land_km2": _km2(ls.land),
        "deforestation": {
            "year": ts.DEFORESTATION_YEAR,
            "from_class": 1,
            "to_class": 3,
            "pixels": int(ls.deforested.sum()),
            "area_km2": _km2(ls.deforested),
        },
        "rangeland_degradation": {
            "ndvi_2000": ts.RANGELAND_NDVI_2000,
            "ndvi_slope_per_year": ts.RANGELAND_SLOPE,
            "pixels": int(ls.rangeland.sum()),
            "area_km2": _km2(ls.rangeland),
        },
        "lake": _lake(ls),
        "urban": _urban(ls),
        "burn_scar": {
            "year": ts.BURN_YEAR,
            "pre_year": ts.BURN_YEAR - 1,
            "dnbr": ts.BURN_DNBR,
            "severity": {"core": "high", "ring": "moderate-low"},
            "core_pixels": int(ls.burn_core.sum()),
            "ring_pixels": int(ls.burn_ring.sum()),
            "area_km2": _km2(ls.burn_core | ls.burn_ring),
        },
        "soil_organic_carbon": {
            "years": list(ts.SOC_YEARS),
            "loss_fraction": ts.SOC_LOSS,
            "degraded_pixels": int(soc_degraded.sum()),
            "degraded_km2": _km2(soc_degraded),
        },
        "slc_off_years": list(ts.SLC_OFF_YEARS),
        "chips": chips,
    }


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
