"""``band-math``: the OGC description generated from its input model, input parsing, the time
reducers, and (slow, on the demo archive) a run whose registered result is checked pixel by pixel."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

import numpy as np
import pytest
import xarray as xr
from pydantic import Field

from sdgcube.errors import InvalidRequest
from sdgcube.processes.band_math import BandMath, BandMathInputs, _reduce
from sdgcube.processes.base import CubeProcessor, ProcessInputs, describe
from tests.processes.helpers import walk

NDVI = "(nir08 - red) / (nir08 + red)"


@pytest.fixture(scope="module")
def metadata() -> dict[str, Any]:
    return BandMath({"name": "band-math"}).metadata


# --- the process description -----------------------------------------------------------------------


def test_description_identity(metadata):
    assert metadata["id"] == "band-math" and metadata["version"] == "1.0.0"
    assert metadata["title"] == {"en": "Band math"}
    assert metadata["jobControlOptions"] == ["sync-execute", "async-execute", "dismiss"]
    assert "NDVI" in metadata["keywords"]
    assert metadata["outputs"]["result"]["schema"]["contentMediaType"] == "application/json"


def test_every_model_field_is_an_input(metadata):
    assert set(metadata["inputs"]) == set(BandMathInputs.model_fields)


@pytest.mark.parametrize(
    ("name", "min_occurs"),
    [("expression", 1), ("product", 0), ("datetime", 0), ("reducer", 0), ("resolution", 0), ("crs", 0),
     ("mask_clouds", 0), ("bbox", 0), ("geometry", 0)],
)  # fmt: skip
def test_occurrences(metadata, name, min_occurs):
    assert metadata["inputs"][name]["minOccurs"] == min_occurs
    assert metadata["inputs"][name]["maxOccurs"] == 1


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        ("expression", {"type": "string", "examples": [NDVI]}),
        ("product", {"type": "string", "default": "sr_annual"}),
        (
            "reducer",
            {"type": "string", "enum": ["mean", "median", "min", "max", "last"], "default": "mean"},
        ),
        (
            "bbox",
            {
                "type": "array",
                "items": {"type": "number"},
                "minItems": 4,
                "maxItems": 4,
                "default": None,
            },
        ),
        ("resolution", {"type": "number", "exclusiveMinimum": 0, "default": None}),
        ("datetime", {"type": "string", "default": None}),
        ("crs", {"type": "string", "default": None}),
        ("mask_clouds", {"type": "boolean", "default": None}),
        ("geometry", {"type": "object", "additionalProperties": True, "default": None}),
    ],
)
def test_input_schemas(metadata, name, schema):
    assert metadata["inputs"][name]["schema"] == schema


def test_no_nullable_branches_are_left(metadata):
    for node in walk(metadata["inputs"]):
        if isinstance(node, dict):
            assert "anyOf" not in node
            assert node.get("type") != "null"


def test_titles_and_descriptions_come_from_the_model(metadata):
    assert (
        metadata["inputs"]["reducer"]["description"]
        == BandMathInputs.model_fields["reducer"].description
    )
    assert metadata["inputs"]["mask_clouds"]["title"] == "Mask Clouds"
    for value in metadata["inputs"].values():
        assert (
            value["description"]
            and "title" not in value["schema"]
            and "description" not in value["schema"]
        )


def test_the_example_is_valid_input(metadata):
    inputs = BandMath({"name": "band-math"}).parse(metadata["example"]["inputs"])
    assert inputs.expression == NDVI and inputs.datetime == "2020"


class _ToyInputs(ProcessInputs):
    count: int = Field(description="required")
    maybe: int | None = Field(None, description="nullable")
    either: int | str | None = None
    choice: Literal["a", "b"] = "a"


class _Toy(CubeProcessor):
    process_id = "toy"
    title = "Toy"
    description = "A toy process"
    keywords = ("k",)
    Inputs = _ToyInputs
    outputs: ClassVar[dict[str, Any]] = {}
    example: ClassVar[dict[str, Any]] = {"count": 1}


def test_describe_flattens_optional_types():
    inputs = describe(_Toy)["inputs"]
    assert inputs["count"] == {"title": "Count", "description": "required", "schema": {"type": "integer"},
                               "minOccurs": 1, "maxOccurs": 1}  # fmt: skip
    assert inputs["maybe"]["schema"] == {"type": "integer", "default": None}
    assert inputs["either"]["schema"] == {
        "oneOf": [{"type": "integer"}, {"type": "string"}],
        "default": None,
    }
    assert inputs["either"]["description"] == ""
    assert inputs["choice"]["schema"] == {"type": "string", "enum": ["a", "b"], "default": "a"}


# --- parsing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "input 'expression': Field required"),
        ({"expression": 5}, "input 'expression': Input should be a valid string"),
        ({"expression": "red", "reducer": "mode"}, "input 'reducer': Input should be 'mean'"),
        ({"expression": "red", "bbox": [1, 2, 3]}, "input 'bbox': List should have at least 4 items"),
        ({"expression": "red", "bbox": [1, 2, 3, "x"]}, "input 'bbox.3'"),
        ({"expression": "red", "resolution": 0}, "input 'resolution': Input should be greater than 0"),
        ({"expression": "red", "mask_clouds": "maybe"}, "input 'mask_clouds'"),
        ({"expression": "red", "colour": "red"}, "input 'colour': Extra inputs are not permitted"),
        ({"expression": "red", "bbox": [2, 0, 1, 1]}, "bbox \\[2.0, 0.0, 1.0, 1.0\\] must be minx < maxx"),
        ({"expression": "red", "bbox": [0, 0, 1, 1], "geometry": {"type": "Point", "coordinates": [0, 0]}},
         "either bbox or geometry"),
    ],
)  # fmt: skip
def test_parse_errors_name_the_input(data, message):
    with pytest.raises(InvalidRequest, match=message):
        BandMath({"name": "band-math"}).parse(data)


def test_parse_reports_every_bad_input():
    with pytest.raises(InvalidRequest) as caught:
        BandMath({"name": "band-math"}).parse({"reducer": "mode", "resolution": -1})
    message = str(caught.value)
    for name in ("expression", "reducer", "resolution"):
        assert f"input {name!r}:" in message


def test_parse_defaults():
    inputs = BandMath({"name": "band-math"}).parse({"expression": NDVI})
    assert (inputs.product, inputs.reducer, inputs.mask_clouds, inputs.datetime) == (
        "sr_annual",
        "mean",
        None,
        None,
    )
    assert inputs.load_area() == {}


# --- reducers ------------------------------------------------------------------------------------------

_SLICES = np.array(
    [[1.0, np.nan, 5.0, np.nan], [np.nan, np.nan, 2.0, 7.0], [3.0, np.nan, 4.0, np.nan]]
)


@pytest.mark.filterwarnings(
    "ignore:All-NaN slice:RuntimeWarning", "ignore:Mean of empty slice:RuntimeWarning"
)
@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
@pytest.mark.parametrize(
    ("reducer", "expected"),
    [
        ("mean", [2.0, np.nan, 11 / 3, 7.0]),
        ("median", [2.0, np.nan, 4.0, 7.0]),
        ("min", [1.0, np.nan, 2.0, 7.0]),
        ("max", [3.0, np.nan, 5.0, 7.0]),
        pytest.param("last", [3.0, np.nan, 4.0, 7.0]),
    ],
)  # fmt: skip
def test_reducers_skip_nodata(reducer, expected, chunked):
    values = xr.DataArray(_SLICES, dims=("time", "x"))
    if chunked:
        values = values.chunk({"time": 1})
    reduced = _reduce(values, reducer)
    assert reduced.dims == ("x",)
    np.testing.assert_allclose(np.asarray(reduced.values), expected)


# --- a run on the demo archive -------------------------------------------------------------------------


def _scaled_bands(cube, time, bbox=None):
    area = {"bbox": bbox} if bbox else {}
    bands = cube.load("sr_annual", time=time, measurements=["red", "nir08"], mask_nodata=True, mask_clouds=True,
                      chunks=None, **area)  # fmt: skip
    return (
        bands,
        bands.red.values.astype("float32") * 1e-4,
        bands.nir08.values.astype("float32") * 1e-4,
    )


@pytest.mark.slow
def test_ndvi_is_registered_with_its_lineage(demo, build_processor):
    cube, _ = demo
    mimetype, document = build_processor(BandMath, "band-math").execute(
        {"expression": NDVI, "datetime": "2020"}
    )
    assert mimetype == "application/json"
    assert document["time_slices"] == ["2020-07-01T00:00:00"] and document["expression"] == NDVI
    product = document["collection"]
    assert product.startswith("bandmath_")

    result = cube.load(product, chunks=None)
    bands, red, nir = _scaled_bands(cube, "2020")
    assert result.odc.geobox == bands.odc.geobox
    with np.errstate(all="ignore"):
        expected = (nir[0] - red[0]) / (nir[0] + red[0])
    ndvi = result.value.values[0]
    assert (
        np.isnan(expected).any() and np.isfinite(expected).mean() > 0.5
    )  # clouds and nodata are masked
    np.testing.assert_allclose(
        ndvi, expected, rtol=1e-6, atol=1e-7
    )  # NaN exactly where expected is NaN

    base = cube.settings.base_url
    assert (
        document["collection"] == product
        and document["links"]["collection"] == f"{base}/collections/{product}"
    )
    assert document["stac_item"].startswith(f"{base}/stac/archive/{product}/2020/")
    # The URL is the item's path under the archive, as the server's STAC browser serves it.
    relative = document["stac_item"].removeprefix(f"{base}/stac/archive/")
    item = json.loads((cube.settings.archive_dir / relative).read_text())
    properties = item["properties"]
    assert properties["sdgcube:process"] == "band-math"
    assert properties["sdgcube:inputs"]["expression"] == NDVI
    assert (
        properties["sdgcube:inputs"]["datetime"] == "2020"
        and properties["sdgcube:inputs"]["reducer"] == "mean"
    )
    assert properties["sdgcube:input_datasets"] == sorted(
        str(ds.id) for ds in cube.datasets("sr_annual", "2020")
    )
    assert item["id"] == document["dataset"]


@pytest.mark.slow
def test_a_where_mask_is_registered_with_nodata_kept(demo, build_processor):
    """`where(red > 0.1, 1, 0)` once failed: xr.where dropped the CRS of the grid."""
    cube, _ = demo
    _, document = build_processor(BandMath, "band-math").execute(
        {"expression": "where(red > 0.1, 1, 0)", "datetime": "2020"}
    )
    _, red, _ = _scaled_bands(cube, "2020")
    expected = np.where(np.isnan(red[0]), np.nan, (red[0] > 0.1).astype("float32"))
    result = cube.load(document["collection"], chunks=None).value.values[0]
    assert np.nansum(expected) > 0 and np.isnan(expected).any()
    np.testing.assert_array_equal(result, expected)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")
def test_median_of_three_years_over_a_bbox_with_band_aliases(demo, build_processor):
    cube, _ = demo
    bbox = [177.93, -17.65, 177.95, -17.62]
    _, document = build_processor(BandMath, "band-math").execute(
        {"expression": "(nir - red) / (nir + red)", "datetime": "2010/2012", "reducer": "median", "bbox": bbox}
    )  # fmt: skip
    assert len(document["time_slices"]) == 3
    _, red, nir = _scaled_bands(cube, "2010/2012", bbox)
    with np.errstate(all="ignore"):
        expected = np.nanmedian((nir - red) / (nir + red), axis=0)
    result = cube.load(document["collection"], chunks=None)
    assert result.value.shape[1:] == expected.shape
    np.testing.assert_allclose(result.value.values[0], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"expression": "blue2 - red"}, "uses 'blue2', not a band"),
        (
            {"expression": NDVI, "datetime": "1990"},
            "input 'datetime': product 'sr_annual' has no datasets for datetime '1990'",
        ),
        ({"expression": NDVI, "product": "nope"}, "unknown product 'nope'"),
        ({"expression": NDVI, "bbox": [0, 0, 40, 40]}, "more than this server's limit"),
    ],
)
def test_check_refuses_before_any_work(demo, build_processor, data, error):
    cube, _ = demo
    before = {p.name for p in cube.products()}
    with pytest.raises(Exception, match=error) as caught:
        build_processor(BandMath, "band-math").execute(data)
    assert type(caught.value).__module__ == "sdgcube.errors"
    assert {p.name for p in cube.products()} == before
