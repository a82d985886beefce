"""OGC API Coverages parameters: parsing into a ``CoverageQuery`` and planning it against a product."""

from __future__ import annotations

from datetime import datetime

import pytest
from odc.geo.crs import CRS as OdcCRS
from pyproj import CRS, Transformer

from sdgcube.app.coverage_query import parse_coverage_query, plan_coverage
from sdgcube.datacube.bands import Band
from sdgcube.datacube.catalog import ProductSummary
from sdgcube.datacube.cube import NativeGrid
from sdgcube.errors import InvalidRequest, LimitExceeded

WGS84_LATLON = "http://www.opengis.net/def/crs/EPSG/0/4326"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


# --- bbox and bbox-crs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "bbox", "crs"),
    [
        ({"bbox": "170,-40,171,-39"}, (170.0, -40.0, 171.0, -39.0), "OGC:CRS84"),
        ({"bbox": " 170, -40 ,171,-39 "}, (170.0, -40.0, 171.0, -39.0), "OGC:CRS84"),
        # 6 numbers: minx,miny,minz,maxx,maxy,maxz; the heights are dropped
        ({"bbox": "170,-40,0,171,-39,100"}, (170.0, -40.0, 171.0, -39.0), "OGC:CRS84"),
        # EPSG:4326 is lat/lon: the values come north first and are swapped to east/north
        ({"bbox": "-40,170,-39,171", "bbox-crs": WGS84_LATLON}, (170.0, -40.0, 171.0, -39.0), "EPSG:4326"),
        ({"bbox": "-40,170,-39,171", "bbox-crs": "[EPSG:4326]"}, (170.0, -40.0, 171.0, -39.0), "EPSG:4326"),
        ({"bbox": "-40,170,0,-39,171,9", "bbox-crs": "EPSG:4326"}, (170.0, -40.0, 171.0, -39.0), "EPSG:4326"),
        # CRS84 is lon/lat: no swap
        ({"bbox": "170,-40,171,-39", "bbox-crs": CRS84}, (170.0, -40.0, 171.0, -39.0), "OGC:CRS84"),
        # projected, east/north
        ({"bbox": "500000,5500000,510000,5510000", "bbox-crs": "EPSG:32760"},
         (500000.0, 5500000.0, 510000.0, 5510000.0), "EPSG:32760"),
        # NZTM (EPSG:2193) is northing first: swapped like EPSG:4326
        ({"bbox": "5400000,1700000,5410000,1710000", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/2193"},
         (1700000.0, 5400000.0, 1710000.0, 5410000.0), "EPSG:2193"),
    ],
)  # fmt: skip
def test_bbox_and_crs(params, bbox, crs):
    query = parse_coverage_query(params)
    assert query.bbox == bbox
    assert query.bbox_crs == CRS.from_user_input(crs)


def test_no_bbox_means_crs84_and_nothing_else():
    query = parse_coverage_query({})
    assert query.bbox is None and query.datetime is None and query.properties is None
    assert query.scale_size is None and query.scale_factor is None
    assert query.bbox_crs == CRS.from_user_input("OGC:CRS84")
    assert query.format == "json"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"bbox": "1,2,3"}, "bbox '1,2,3' must have 4 numbers"),
        ({"bbox": "1,2,3,4,5"}, "bbox '1,2,3,4,5' must have 4 numbers"),
        ({"bbox": "1,2,3,4,5,6,7"}, "must have 4 numbers"),
        ({"bbox": "1,2,nan,4"}, "must be finite"),
        ({"bbox": "1,2,inf,4"}, "must be finite"),
        ({"bbox": "-inf,2,3,4"}, "must be finite"),
        ({"bbox": "a,b,c,d"}, "bbox 'a,b,c,d' must be comma-separated numbers"),
        ({"bbox": ""}, "comma-separated numbers"),
        ({"bbox": "3,2,1,4"}, "min < max"),
        ({"bbox": "1,4,3,2"}, "min < max"),
        ({"bbox": "1,2,1,4"}, "min < max"),
        # lat/lon order: 170 > 171 is fine, but -39 > -40 after the swap is not
        ({"bbox": "-39,170,-40,171", "bbox-crs": WGS84_LATLON}, "min < max"),
        ({"bbox": "1,2,3,4", "bbox-crs": "bogus"}, "bbox-crs 'bogus'"),
        (
            {"bbox": "1,2,3,4", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/999999"},
            "EPSG/0/999999",
        ),
        ({"bbox": "1,2,3,4", "bbox-crs": "EPSG:"}, "bbox-crs 'EPSG:'"),
    ],
)
def test_bad_bbox_names_the_parameter(params, message):
    with pytest.raises(InvalidRequest, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_coverage_query(params)


@pytest.mark.parametrize("crs", ["EPSG:3031", "EPSG:3413", "EPSG:5041"])
def test_polar_stereographic_bbox_is_easting_first(crs):
    # In all three the first axis is the easting (abbreviated E or X), so no swap is due.
    query = parse_coverage_query({"bbox": "-100000,-200000,100000,300000", "bbox-crs": crs})
    assert query.bbox == (-100000.0, -200000.0, 100000.0, 300000.0)


# --- subset ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "bbox", "datetime"),
    [
        ({"subset": "Lat(-40:-39),Lon(170:171)"}, (170.0, -40.0, 171.0, -39.0), None),
        ({"subset": "Lon(170:171),Lat(-40:-39)"}, (170.0, -40.0, 171.0, -39.0), None),
        ({"subset": "x(170:171),y(-40:-39)"}, (170.0, -40.0, 171.0, -39.0), None),
        ({"subset": "Long(170:171),Latitude(-40:-39)"}, (170.0, -40.0, 171.0, -39.0), None),
        # axis names say which is which, whatever the CRS's axis order
        ({"subset": "Lat(-40:-39),Lon(170:171)", "bbox-crs": WGS84_LATLON}, (170.0, -40.0, 171.0, -39.0), None),
        ({"subset": "E(500000:510000),N(5500000:5510000)", "bbox-crs": "EPSG:32760"},
         (500000.0, 5500000.0, 510000.0, 5510000.0), None),
        ({"subset": 'time("2010":"2012")'}, None, "2010/2012"),
        ({"subset": 'Lat(-40:-39),Lon(170:171),time("2010":"2012")'}, (170.0, -40.0, 171.0, -39.0), "2010/2012"),
        ({"subset": 'time("2010-01-01T00:00:00Z")'}, None, "2010-01-01T00:00:00Z"),
        ({"subset": 'time("2015")'}, None, "2015"),
        # a time subset beside a bbox keeps the bbox
        ({"subset": 'time("2010":"2012")', "bbox": "170,-40,171,-39"}, (170.0, -40.0, 171.0, -39.0), "2010/2012"),
    ],
)  # fmt: skip
def test_subset(params, bbox, datetime):
    query = parse_coverage_query(params)
    assert query.bbox == bbox
    assert query.datetime == datetime


def test_subset_time_interval_of_timestamps():
    query = parse_coverage_query({"subset": 'time("2010-01-01T00:00:00Z":"2012-06-30T12:00:00Z")'})
    assert query.datetime == "2010-01-01T00:00:00Z/2012-06-30T12:00:00Z"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"subset": "Lat(-40:-39)"}, "both a horizontal and a vertical axis"),
        ({"subset": "Lon(170:171)"}, "both a horizontal and a vertical axis"),
        ({"subset": "Lat(-40:-39),Lon(170:171)", "bbox": "170,-40,171,-39"}, "no bbox beside it"),
        ({"subset": "Lat(-39:-40),Lon(170:171)"}, "low < high"),
        ({"subset": "Lat(-40:-40),Lon(170:171)"}, "low < high"),
        ({"subset": "Lat(-40),Lon(170:171)"}, "low < high"),
        ({"subset": "Lat(a:b),Lon(170:171)"}, "comma-separated numbers"),
        ({"subset": "Lat(nan:1),Lon(170:171)"}, "finite"),
        ({"subset": "h(0:100)"}, "subset axis 'h' is not one of"),
        ({"subset": "Lat[-40:-39]"}, "must look like axis"),
        ({"subset": "Lat(-40:-39"}, "must look like axis"),
    ],
)
def test_bad_subset_names_the_part(params, message):
    with pytest.raises(InvalidRequest, match=message):
        parse_coverage_query(params)


# --- scaling, format, properties -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "size"),
    [
        ({"scale-size": "x(10),y(20)"}, (10, 20)),
        ({"scale-size": "y(20),x(10)"}, (10, 20)),
        ({"scaleSize": "Lon(10),Lat(20)"}, (10, 20)),  # GDAL's OGCAPI driver
        ({"scaleSize": "Lat(20),Lon(10)"}, (10, 20)),
        ({"scale-size": "E(256), N(512)"}, (256, 512)),
    ],
)
def test_scale_size(params, size):
    assert parse_coverage_query(params).scale_size == size


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("x(0),y(20)", "positive size"),
        ("x(-1),y(20)", "positive size"),
        ("x(1.5),y(20)", "positive size"),
        ("x(),y(20)", "positive size"),
        ("x(10)", "both axes"),
        ("x(10),x(20)", "both axes"),
        ("t(10),y(20)", "scale-size axis 't'"),
        ("10,20", "must look like x\\(256\\)"),
    ],
)
def test_bad_scale_size(value, message):
    with pytest.raises(InvalidRequest, match=message):
        parse_coverage_query({"scale-size": value})


@pytest.mark.parametrize(("value", "factor"), [("2", 2.0), ("0.5", 0.5), (" 4 ", 4.0)])
def test_scale_factor(value, factor):
    assert parse_coverage_query({"scale-factor": value}).scale_factor == factor


@pytest.mark.parametrize(("value", "message"), [("0", "must be positive"), ("-2", "must be positive"),
                                                ("abc", "scale-factor 'abc'"), ("nan", "finite"), ("inf", "finite")])  # fmt: skip
def test_bad_scale_factor(value, message):
    with pytest.raises(InvalidRequest, match=message):
        parse_coverage_query({"scale-factor": value})


def test_scale_factor_with_two_numbers_is_an_invalid_request():
    with pytest.raises(InvalidRequest, match="scale-factor"):
        parse_coverage_query({"scale-factor": "1,2"})


@pytest.mark.parametrize(
    ("f", "fmt"),
    [
        ("json", "json"), ("JSON", "json"), ("covjson", "json"), ("CoverageJSON", "json"), ("html", "json"),
        ("GTiff", "tif"), ("geotiff", "tif"), ("tif", "tif"), ("TIFF", "tif"),
        ("NetCDF", "nc"), ("nc", "nc"),
    ],
)  # fmt: skip
def test_formats(f, fmt):
    assert parse_coverage_query({"f": f}).format == fmt


@pytest.mark.parametrize("f", ["png", "jpeg", "zarr", "geojson"])
def test_unoffered_format(f):
    with pytest.raises(InvalidRequest, match=f"f='{f}' is not offered"):
        parse_coverage_query({"f": f})


@pytest.mark.parametrize(("default", "expected"), [("tif", "tif"), ("nc", "nc"), ("json", "json")])
def test_default_format_applies_only_without_f(default, expected):
    assert parse_coverage_query({}, default_format=default).format == expected
    assert parse_coverage_query({"f": "json"}, default_format=default).format == "json"


@pytest.mark.parametrize(
    ("value", "properties"),
    [
        ("red,nir08", ("red", "nir08")),
        ("red", ("red",)),
        ("red,,nir08,", ("red", "nir08")),
        ("", None),
    ],
)
def test_properties(value, properties):
    assert parse_coverage_query({"properties": value}).properties == properties


def test_datetime_parameter_is_kept_verbatim():
    assert (
        parse_coverage_query({"datetime": "2010-01-01/2012-12-31"}).datetime
        == "2010-01-01/2012-12-31"
    )


# --- plan_coverage ---------------------------------------------------------------------------------

NATIVE = (600000.0, 5400000.0, 630000.0, 5430000.0)
"""30 km × 30 km of EPSG:32760 at 30 m: 1000 × 1000 pixels."""


GRID = NativeGrid(OdcCRS("EPSG:32760"), 30.0, 30.0, 0.0, 0.0)


def _summary(native=NATIVE, grid=GRID) -> ProductSummary:
    lonlat = (
        Transformer.from_crs("EPSG:32760", "OGC:CRS84", always_xy=True).transform_bounds(*native)
        if native
        else None
    )
    return ProductSummary(
        name="sr_test", description="Test reflectance.",
        bands=(Band.of("red", {"dtype": "int16", "nodata": -9999}), Band.of("nir08", {"dtype": "int16", "nodata": -9999})),
        dataset_count=2 if native else 0, bbox=lonlat, times=(datetime(2020, 7, 1),) if native else (),
        grid=grid if native else None, native_bbox=native,
    )  # fmt: skip


def _plan(params, *, max_pixels=10**9, bands=1, times=1, product=None):
    return plan_coverage(
        parse_coverage_query(params),
        product or _summary(),
        max_pixels=max_pixels,
        bands=bands,
        times=times,
    )


@pytest.mark.parametrize(
    ("params", "bbox", "resolution", "size"),
    [
        ({}, NATIVE, (30.0, 30.0), (1000, 1000)),
        # a request box reaching past the product is clipped to it
        ({"bbox": "610000,5410000,640000,5440000", "bbox-crs": "EPSG:32760"},
         (610000.0, 5410000.0, 630000.0, 5430000.0), (30.0, 30.0), (667, 667)),
        ({"bbox": "590000,5390000,640000,5440000", "bbox-crs": "EPSG:32760"}, NATIVE, (30.0, 30.0), (1000, 1000)),
        ({"bbox": "603000,5403000,606000,5409000", "bbox-crs": "EPSG:32760"},
         (603000.0, 5403000.0, 606000.0, 5409000.0), (30.0, 30.0), (100, 200)),
        ({"subset": "E(603000:606000),N(5403000:5409000)", "bbox-crs": "EPSG:32760"},
         (603000.0, 5403000.0, 606000.0, 5409000.0), (30.0, 30.0), (100, 200)),
        # scale-size divides the (clipped) box; scale-factor multiplies the native pixel size
        ({"scale-size": "x(100),y(50)"}, NATIVE, (300.0, 600.0), (100, 50)),
        ({"scale-size": "x(100),y(50)", "bbox": "615000,5415000,640000,5440000", "bbox-crs": "EPSG:32760"},
         (615000.0, 5415000.0, 630000.0, 5430000.0), (150.0, 300.0), (100, 50)),
        ({"scale-factor": "2"}, NATIVE, (60.0, 60.0), (500, 500)),
        ({"scale-factor": "0.5"}, NATIVE, (15.0, 15.0), (2000, 2000)),
        ({"scale-factor": "3000"}, NATIVE, (90000.0, 90000.0), (1, 1)),
    ],
)  # fmt: skip
def test_plan(params, bbox, resolution, size):
    plan = _plan(params)
    assert plan.bbox == pytest.approx(bbox)
    assert plan.resolution == pytest.approx(resolution)
    assert (plan.width, plan.height) == size


@pytest.mark.parametrize("crs", [None, CRS84, WGS84_LATLON])
def test_plan_of_a_lonlat_bbox_lands_inside_the_product(crs):
    # A box in the middle of the product, given in degrees (lat/lon order for EPSG:4326).
    lonlat = Transformer.from_crs("EPSG:32760", "OGC:CRS84", always_xy=True).transform_bounds(
        610000, 5410000, 620000, 5420000
    )
    values = lonlat if crs != WGS84_LATLON else (lonlat[1], lonlat[0], lonlat[3], lonlat[2])
    params = {"bbox": ",".join(map(str, values)), **({"bbox-crs": crs} if crs else {})}
    plan = _plan(params)
    minx, miny, maxx, maxy = plan.bbox
    assert NATIVE[0] <= minx < 610000 + 300 and 620000 - 300 < maxx <= NATIVE[2]
    assert NATIVE[1] <= miny < 5410000 + 300 and 5420000 - 300 < maxy <= NATIVE[3]
    assert plan.width == round((maxx - minx) / 30) and plan.height == round((maxy - miny) / 30)


@pytest.mark.parametrize(
    "params",
    [
        {"bbox": "0,0,1,1"},
        {"bbox": "700000,5400000,710000,5410000", "bbox-crs": "EPSG:32760"},
        {
            "bbox": "630000,5400000,640000,5410000",
            "bbox-crs": "EPSG:32760",
        },  # touches the edge only
    ],
)
def test_plan_without_intersection(params):
    with pytest.raises(InvalidRequest, match="does not intersect collection 'sr_test'"):
        _plan(params)


def test_plan_of_a_product_without_data():
    with pytest.raises(InvalidRequest, match="collection 'sr_test' holds no data yet"):
        _plan({}, product=_summary(native=None))


@pytest.mark.parametrize(
    ("max_pixels", "bands", "times", "allowed"),
    [
        (1_000_000, 1, 1, True),  # exactly at the limit
        (999_999, 1, 1, False),
        (6_000_000, 2, 3, True),
        (5_999_999, 2, 3, False),
    ],
)
def test_pixel_limit_counts_bands_and_times(max_pixels, bands, times, allowed):
    if allowed:
        assert _plan({}, max_pixels=max_pixels, bands=bands, times=times).width == 1000
        return
    with pytest.raises(LimitExceeded) as caught:
        _plan({}, max_pixels=max_pixels, bands=bands, times=times)
    message = str(caught.value)
    assert f"limit of {max_pixels:,}" in message
    assert f"= {1_000_000 * bands * times:,} values" in message
    assert f"{bands} band(s) × {times} time(s)" in message and "1000×1000" in message
    assert isinstance(caught.value, InvalidRequest)


def test_scaling_brings_a_request_under_the_limit():
    with pytest.raises(LimitExceeded):
        _plan({}, max_pixels=300_000)
    assert _plan({"scale-factor": "2"}, max_pixels=300_000).width == 500
    assert _plan({"scale-size": "x(500),y(500)"}, max_pixels=300_000).height == 500
