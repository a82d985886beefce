"""STAC items from different providers become eo3 documents with common band names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from sdgcube.datacube.eo3 import dataset_uuid, item_to_eo3, product_doc_from_item
from sdgcube.errors import IngestError
from tests.stac_fixtures import landsat_item, sentinel_item


def test_landsat_item_maps_to_common_names(tmp_path):
    item = landsat_item(tmp_path / "ls", datetime(2021, 3, 4, tzinfo=UTC))
    doc = item_to_eo3(item, "landsat")
    assert sorted(doc["measurements"]) == ["blue", "green", "nir08", "red", "swir16", "swir22"]
    assert doc["crs"] == "epsg:32633" and doc["grids"]["default"]["shape"] == [40, 50]
    assert doc["measurements"]["red"]["path"].startswith("file://") and doc["measurements"]["red"][
        "path"
    ].endswith("SR_B4.TIF")
    assert doc["properties"]["platform"] == "landsat-9"
    assert uuid.UUID(doc["id"]) == dataset_uuid(item)


def test_sentinel_item_reads_grids_from_files_and_keeps_two_grids(tmp_path):
    doc = item_to_eo3(sentinel_item(tmp_path / "s2"), "s2")
    assert set(doc["measurements"]) == {"blue", "green", "red", "nir", "swir16", "swir22"}
    assert doc["grids"]["default"]["shape"] == [60, 60]
    assert doc["measurements"]["swir22"]["grid"] != "default"
    assert doc["grids"][doc["measurements"]["swir22"]["grid"]]["transform"][0] == 20


def test_product_from_item_keeps_provider_keys_as_aliases(tmp_path):
    doc = product_doc_from_item(sentinel_item(tmp_path / "s2"), "s2_l2a")
    red = next(m for m in doc["measurements"] if m["name"] == "red")
    assert red["aliases"] == ["b04"] and red["dtype"] == "uint16" and red["nodata"] == 0


def test_item_mapping_reports_missing_bands(tmp_path):
    item = landsat_item(tmp_path / "ls", datetime(2021, 3, 4, tzinfo=UTC))
    with pytest.raises(IngestError, match="lacks bands"):
        item_to_eo3(item, "landsat", {"pixel_quality": "qa"})


def test_stable_uuid_for_non_uuid_ids(tmp_path):
    item = sentinel_item(tmp_path / "s2")
    assert dataset_uuid(item) == dataset_uuid(item) and dataset_uuid(item).version == 5
