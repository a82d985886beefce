"""The demo archive made in parallel: the same pixels whatever the number of workers or the window
size, and the ``country`` size described (it is never generated here: 8192² × 16 years)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from typer.testing import CliRunner

from sdgcube.cli.app import app
from sdgcube.datacube.demo import generate_demo
from sdgcube.datacube.demo import timeseries as ts
from sdgcube.datacube.demo.generate import CHIPS_PER_SIZE, CONTENTS, SIZES, demo_jobs
from sdgcube.datacube.demo.landscape import GRIDS, DemoGrid, Window, make_landscape
from sdgcube.datacube.demo.noise import BlockNoise
from sdgcube.datacube.demo.truth import pixel_counts
from sdgcube.datacube.index import init_index
from sdgcube.settings import Settings

_GRID = DemoGrid(512, window=256)


def _stitched(side: int) -> dict[str, np.ndarray]:
    """A windowed grid's composite, land cover and soil carbon, made in windows of ``side``."""
    out: dict[str, np.ndarray] = {}
    for window in _GRID.windows(side):
        ls = make_landscape(_GRID, np.random.default_rng(5), window)
        arrays = ts.annual_composite(ls, 2003, BlockNoise(5, "sr/2003", _GRID, window))
        arrays["land_cover"] = ts.land_cover(ls, 2012)
        arrays["soc"] = ts.soil_carbon(ls, 2020, BlockNoise(5, "soc/2020", _GRID, window))
        for name, data in arrays.items():
            out.setdefault(name, np.zeros(_GRID.shape, data.dtype))[window.slices] = data
    return out


def test_windowed_pixels_do_not_depend_on_the_window_size():
    small, whole = _stitched(256), _stitched(512)
    assert small.keys() == whole.keys()
    for name in small:
        assert np.array_equal(small[name], whole[name]), name
    # The planted events are there: clouds over about 4 % (less where they are nodata stripes),
    # the deforested patch cropland from 2012.
    cloudy = (small["pixel_quality"] & 2) > 0
    assert 0.02 < cloudy.mean() < 0.06
    ls = make_landscape(_GRID, np.random.default_rng(5))
    assert (small["land_cover"][ls.deforested] == 3).all() and ls.deforested.sum() > 100


def test_windowed_truth_counts_are_the_sum_of_the_windows():
    years = (2000, 2012)
    whole = pixel_counts(make_landscape(_GRID, np.random.default_rng(5)), years)
    summed: dict[str, float] = {}
    for window in _GRID.windows(256):
        for name, count in pixel_counts(make_landscape(_GRID, np.random.default_rng(5), window),
                                        years).items():  # fmt: skip
            summed[name] = summed.get(name, 0) + count
    assert summed == whole and whole["deforested"] > 0


def test_block_noise_needs_windows_on_block_edges():
    with pytest.raises(ValueError, match="noise block"):
        BlockNoise(1, "sr/2000", _GRID, Window(100, 0, 100, 100))


def test_country_holds_what_sdg_15_3_1_reads_with_its_default_periods():
    assert "country" in SIZES and GRIDS["country"].size >= 8192 and GRIDS["country"].windowed
    contents = CONTENTS["country"]
    assert contents.years == tuple(range(2000, 2016))
    # The baseline's planted events fall inside those years.
    assert ts.DEFORESTATION_YEAR in contents.years and ts.LAKE_DECLINE_START in contents.years
    jobs = list(demo_jobs(contents, CHIPS_PER_SIZE["country"], 42, []))
    products = {job.product for job in jobs}
    assert products == {"sr_annual", "land_cover", "soil_organic_carbon"}
    assert sum(job.product == "sr_annual" for job in jobs) == 16
    assert [job.year for job in jobs if job.product == "soil_organic_carbon"] == list(ts.SOC_YEARS)


def test_cli_describes_the_country_size():
    result = CliRunner().invoke(app, ["demo-data", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "country" in result.output and "8192" in result.output
    assert "--workers" in result.output


def test_cli_refuses_an_unknown_size(tmp_path):
    result = CliRunner().invoke(
        app, ["demo-data", "--size", "continent", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and "country" in result.output


def _pixels(data_dir: Path) -> dict[str, np.ndarray]:
    out = {}
    for path in sorted((data_dir / "archive").rglob("*.tif")):
        with rasterio.open(path) as src:
            out[str(path.relative_to(data_dir))] = src.read()
    return out


@pytest.mark.slow
def test_one_worker_and_two_write_the_same_archive(tmp_path):
    archives = {}
    for workers in (1, 2):
        settings = Settings(data_dir=tmp_path / f"w{workers}")
        demo_dir = settings.data_dir / "demo"
        generate_demo(init_index(settings), settings.archive_dir, demo_dir, size="small", seed=3,
                      workers=workers)  # fmt: skip
        archives[workers] = (
            _pixels(settings.data_dir),
            json.loads((demo_dir / "truth.json").read_text()),
        )
    (one, truth_one), (two, truth_two) = archives[1], archives[2]
    assert one.keys() == two.keys() and len(one) > 300
    assert all(np.array_equal(one[name], two[name], equal_nan=True) for name in one)
    assert truth_one == truth_two


@pytest.mark.slow
def test_country_archive_on_a_shrunken_grid_matches_its_truth(tmp_path, monkeypatch):
    """The whole country pipeline (windows, windowed COGs, summed truth) on 512² in 256² windows."""
    from sdgcube.datacube.cube import Cube

    monkeypatch.setitem(GRIDS, "country", DemoGrid(512, window=256))
    settings = Settings(data_dir=tmp_path)
    dc = init_index(settings)
    truth = generate_demo(dc, settings.archive_dir, settings.data_dir / "demo", size="country",
                          seed=42, workers=1)  # fmt: skip
    cube = Cube(dc, settings)
    assert len(cube.datasets("sr_annual")) == 16 and not cube.datasets("surface_water")
    assert truth["years"] == [2000, 2015] and "burn_scar" not in truth and "lake" not in truth
    event = truth["deforestation"]
    lc = cube.load("land_cover", time=("2011", "2012"), chunks=None).land_cover.values
    assert ((lc[0] == event["from_class"]) & (lc[1] == event["to_class"])).sum() == event["pixels"]
    soc = cube.load("soil_organic_carbon", mask_nodata=True, chunks=None).soc.values
    change = (soc[1] - soc[0]) / soc[0] * 100
    assert np.nansum(change <= -10) == truth["soil_organic_carbon"]["degraded_pixels"]
    with rasterio.open(Path(cube.datasets("sr_annual")[0].uri.removeprefix("file://")).parent
                       / "red.tif") as src:  # fmt: skip
        assert src.shape == (512, 512) and src.compression.name == "deflate" and src.overviews(1)
