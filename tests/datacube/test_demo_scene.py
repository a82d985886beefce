"""The demo island's planted events, checked on the pure arrays before anything is written."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from rasterio.features import rasterize
from scipy import ndimage

from sdgcube.datacube.demo import timeseries as ts
from sdgcube.datacube.demo.chips import (
    CHIP_PIXEL,
    GABLE_SHADE,
    GROUND_COLOURS,
    ROOF_COLOURS,
    SHADOW_SHADE,
    make_chip,
)
from sdgcube.datacube.demo.landscape import GRIDS, make_landscape
from sdgcube.models.metrics import confusion_matrix, segmentation_metrics


@pytest.fixture(scope="module")
def ls():
    return make_landscape(GRIDS["small"], np.random.default_rng(3))


def test_zones_are_disjoint_and_on_land(ls):
    assert not (ls.forest & ls.rangeland).any()
    assert not (ls.deforested & ls.forest).any()
    assert not (ls.burn_core & ls.burn_ring).any()
    for zone in (ls.forest, ls.rangeland, ls.deforested, ls.burn_core, ls.lake_full):
        assert zone.any() and not (zone & ~ls.land).any()


def test_land_cover_codes_and_deforestation_year(ls):
    before = ts.land_cover(ls, ts.DEFORESTATION_YEAR - 1)
    after = ts.land_cover(ls, ts.DEFORESTATION_YEAR)
    assert set(np.unique(before)) <= set(range(1, 8))
    assert (before[ls.deforested] == 1).all() and (after[ls.deforested] == 3).all()
    assert (before[~ls.land] == 7).all()


def test_lake_shrinks_and_turns_seasonal(ls):
    permanent = [int(ts.permanent_lake(ls, y).sum()) for y in ts.YEARS]
    seasonal = [int(ts.seasonal_lake(ls, y).sum()) for y in ts.YEARS]
    start = ts.YEARS.index(ts.LAKE_DECLINE_START)
    assert len(set(permanent[:start])) == 1 and set(seasonal[:start]) == {0}
    assert all(b < a for a, b in zip(permanent[start - 1 :], permanent[start:], strict=False))
    assert all(p + s == ls.lake_full.sum() for p, s in zip(permanent, seasonal, strict=True))


def test_seasonal_pixels_are_wet_then_dry_and_gaps_hit_one_quarter(ls):
    year = 2020
    obs = [ts.water_observation(ls, year, q, 2, np.random.default_rng(q)) for q in range(4)]
    ring = ts.seasonal_lake(ls, year)
    assert (obs[0][ring] == 1).all() and (obs[3][ring] == 0).all()
    assert [(o == 255).any() for o in obs] == [False, False, True, False]


def test_built_up_grows_faster_than_population(ls):
    area = {y: ts.built_up(ls, y).sum() for y in ts.BUILT_UP_YEARS}
    pops = {y: ts.population(ls, y).astype(np.float64).sum() for y in ts.POPULATION_YEARS}
    assert np.log(area[2020] / area[2000]) > 2 * np.log(pops[2020] / pops[2000])
    assert pops[2010] == pytest.approx(ts.total_population(2010), rel=1e-5)


def test_rangeland_ndvi_declines_at_the_planted_rate(ls):
    years = np.array(ts.YEARS, dtype=float)
    means = [ts.clean_ndvi(ls, int(y))[ls.rangeland].mean() for y in years]
    assert np.polyfit(years, means, 1)[0] == pytest.approx(ts.RANGELAND_SLOPE, abs=1e-9)


@pytest.mark.parametrize("zone", ["core", "ring"])
def test_burn_dnbr_matches_the_planted_severity(ls, zone):
    pre = ts.annual_composite(ls, ts.BURN_YEAR - 1, np.random.default_rng(1))
    post = ts.annual_composite(ls, ts.BURN_YEAR, np.random.default_rng(2))

    def nbr(b):
        nir, swir = b["nir08"].astype(float), b["swir22"].astype(float)
        return (nir - swir) / (nir + swir)

    mask = (
        (ls.burn_core if zone == "core" else ls.burn_ring)
        & (pre["pixel_quality"] == 0)
        & (post["pixel_quality"] == 0)
    )
    dnbr = (nbr(pre) - nbr(post))[mask]
    assert np.median(dnbr) == pytest.approx(ts.BURN_DNBR[zone], abs=0.03)


def test_composite_flags_clouds_and_fill(ls):
    bands = ts.annual_composite(ls, ts.SLC_OFF_YEARS[0], np.random.default_rng(0))
    pq = bands["pixel_quality"]
    fill = pq == 1
    assert fill.any() and (bands["red"][fill] == ts.SR_NODATA).all()
    assert ((pq & 2) > 0).mean() == pytest.approx(0.04, abs=0.01)


def test_chip_labels_match_the_footprints():
    chip = make_chip(np.random.default_rng(5))
    assert chip.rgb.dtype == np.uint8 and chip.rgb.min() >= 1
    assert 10 <= chip.buildings < 30 and 0.02 < chip.labels.mean() < 0.5
    inside = rasterize(chip.footprints, out_shape=chip.labels.shape)
    assert (chip.labels <= inside).all() and chip.building_pixels == inside.sum()
    assert chip.building_pixels * CHIP_PIXEL**2 == pytest.approx(chip.footprint_area_m2, rel=0.02)
    # shared walls are background: each building is its own 4-connected patch of the labels
    assert ndimage.label(chip.labels)[1] == chip.buildings
    assert chip.labels.sum() > 0.95 * chip.building_pixels


def test_chips_hold_courtyards_wings_and_touching_houses():
    footprints = [p for seed in range(6) for p in make_chip(np.random.default_rng(seed)).footprints]
    assert any(p.interiors for p in footprints), "no courtyard"
    assert any(len(p.exterior.coords) > 5 for p in footprints), "no L or T shape"
    touching = [a for a, b in itertools.combinations(footprints, 2) if a.touches(b)]
    assert touching, "no terrace of touching houses"


def test_roof_colour_alone_does_not_find_the_buildings():
    """A per-pixel classifier that knows every roof and ground colour of the generator (shadowed
    too) finds less than 60 % IoU of the buildings: a model must learn shapes to score well."""
    roofs = np.vstack([ROOF_COLOURS, ROOF_COLOURS * GABLE_SHADE])
    ground = np.vstack([GROUND_COLOURS, GROUND_COLOURS * SHADOW_SHADE])
    confusion = np.zeros((2, 2), dtype=np.int64)
    for seed in range(4):
        chip = make_chip(np.random.default_rng(100 + seed))
        pixels = chip.rgb.reshape(3, -1).T.astype(float)[:, None, :]
        to_roof = ((pixels - roofs) ** 2).sum(-1).min(1)
        to_ground = ((pixels - ground) ** 2).sum(-1).min(1)
        guess = (to_roof < to_ground).reshape(chip.labels.shape)
        confusion += confusion_matrix(chip.labels, guess)
    assert segmentation_metrics(confusion).iou[1] < 0.6
