"""Per-unit tables, zonal class areas and ellipsoidal pixel areas."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from odc.geo.geobox import GeoBox
from pyproj import Geod

from sdgcube.datacube.areas import pixel_area_km2
from sdgcube.indicators.zonal import class_area_by_unit
from sdgcube.processes.reporting import SDMX_DATAFLOW, SummaryTable, sdmx_csv, table_csv

TABLE = SummaryTable(
    indicator="15.3.1", series="AG_LND_DGRD", unit_measure="PT", value_field="degraded_pct",
    time_period="2015-2019",
    rows=({"unit_id": "D1", "unit_name": "North", "degraded_pct": 12.5, "degraded_km2": 1.25},
          {"unit_id": "D2", "unit_name": "South", "degraded_pct": None, "degraded_km2": 0.0}),
)  # fmt: skip


def test_sdmx_csv_has_one_observation_per_unit() -> None:
    rows = list(csv.DictReader(io.StringIO(sdmx_csv(TABLE))))
    assert [r["REF_AREA"] for r in rows] == ["D1", "D2"]
    assert rows[0] == {"DATAFLOW": SDMX_DATAFLOW, "FREQ": "A", "SERIES": "AG_LND_DGRD", "REF_AREA": "D1",
                       "TIME_PERIOD": "2015-2019", "UNIT_MEASURE": "PT", "OBS_VALUE": "12.5"}  # fmt: skip
    assert rows[1]["OBS_VALUE"] == ""


def test_table_csv_keeps_every_column() -> None:
    rows = list(csv.DictReader(io.StringIO(table_csv(TABLE))))
    assert list(rows[0]) == ["unit_id", "unit_name", "degraded_pct", "degraded_km2"]
    assert rows[1]["degraded_km2"] == "0.0"


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16"])
def test_class_area_by_unit_matches_a_numpy_reference(dtype: str) -> None:
    rng = np.random.default_rng(3)
    values = [-1, 0, 1] if dtype != "uint8" else [1, 2, 5]
    classes = rng.choice([*values, 7 if dtype == "uint8" else -128], size=(40, 50)).astype(dtype)
    units = rng.integers(0, 4, size=(40, 50)).astype("int32")
    area = rng.uniform(0.5, 1.5, size=(40, 50))
    result = class_area_by_unit(classes, units, area, n_units=3, class_values=values)
    for unit in range(1, 4):
        for column, value in enumerate(values):
            expected = area[(units == unit) & (classes == value)].sum()
            assert result[unit - 1, column] == pytest.approx(expected)


def test_class_area_by_unit_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        class_area_by_unit(
            np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((2, 2)), n_units=1, class_values=[0]
        )


@pytest.mark.parametrize(
    ("bbox", "crs", "resolution"),
    [((597000, 8047000, 603000, 8053000), "EPSG:32760", 30), ((500000, 0, 530000, 30000), "EPSG:32633", 100),
     ((177.9, -17.7, 178.0, -17.6), "EPSG:4326", 0.001), ((10.0, 60.0, 10.5, 60.5), "EPSG:4326", 0.01)],
)  # fmt: skip
def test_pixel_areas_add_up_to_the_geodesic_area(bbox, crs, resolution) -> None:
    geobox = GeoBox.from_bbox(bbox, crs, resolution=resolution)
    areas = pixel_area_km2(geobox)
    assert areas.shape == geobox.shape
    outline = geobox.extent.to_crs("EPSG:4326").geom
    lons, lats = outline.exterior.coords.xy
    expected = abs(Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)[0]) / 1e6
    assert areas.sum() == pytest.approx(expected, rel=2e-3)


def test_rows_with_their_own_time_period_make_a_series() -> None:
    yearly = SummaryTable(indicator="6.6.1", series="EN_LKRV_PWAC", unit_measure="PT", value_field="v",
                          time_period="2000-2024",
                          rows=({"unit_id": "D1", "time_period": "2020", "v": 1.0},
                                {"unit_id": "D1", "time_period": "2021", "v": 2.0}))  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(sdmx_csv(yearly))))
    assert [(r["TIME_PERIOD"], r["OBS_VALUE"]) for r in rows] == [("2020", "1.0"), ("2021", "2.0")]


def test_unit_codes_beyond_n_units_are_not_counted() -> None:
    classes = np.ones((2, 2), dtype="int8")
    units = np.array([[1, 2], [3, 99]], dtype="int32")
    result = class_area_by_unit(classes, units, np.ones((2, 2)), n_units=2, class_values=[1])
    assert result.tolist() == [[1.0], [1.0]]
