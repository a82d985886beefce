"""One dataset with impossible georeferencing in the index: the server starts and serves the rest."""

from __future__ import annotations

import logging
from datetime import datetime

import numpy as np
import pytest
from affine import Affine
from starlette.testclient import TestClient

from sdgcube.app.server import create_app
from sdgcube.datacube import ingest
from sdgcube.datacube.ingest import ingest_file
from sdgcube.settings import Settings

pytestmark = pytest.mark.slow


def test_server_publishes_all_but_the_off_earth_product(
    empty_cube, make_raster, monkeypatch, caplog
):
    cube, when = empty_cube, datetime(2020, 1, 1)
    data = np.ones((50, 100), dtype="float32")
    good = make_raster(data, name="good.tif")
    ingest_file(cube.dc, cube.settings.archive_dir, good, product="ext_good", when=when)
    # EPSG:4326 bounds -1000,-500,1000,500, indexed as an older ingest (or another tool) let it in.
    monkeypatch.setattr(ingest, "_check_georeferencing", lambda path, src: None)
    bad = make_raster(data, transform=Affine(20, 0, -1000, 0, -20, 500), name="bad.tif")
    ingest_file(cube.dc, cube.settings.archive_dir, bad, product="ext_off_earth", when=when)

    settings = Settings(
        data_dir=cube.settings.data_dir, db_url=cube.settings.db_url, watch_interval_s=3600
    )
    with caplog.at_level(logging.WARNING), TestClient(create_app(settings)) as client:
        ids = {
            c["id"] for c in client.get("/collections", params={"f": "json"}).json()["collections"]
        }
        capabilities = client.get(
            "/mapproxy/service", params={"SERVICE": "WMS", "REQUEST": "GetCapabilities"}
        )
    assert "ext_good" in ids and "ext_off_earth" not in ids
    assert capabilities.status_code == 200 and "<Name>ext_good</Name>" in capabilities.text
    assert "ext_off_earth" not in capabilities.text
    assert any(
        "ext_off_earth" in r.getMessage() and "outside the Earth" in r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING
    )
