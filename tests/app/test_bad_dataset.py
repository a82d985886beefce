"""One dataset with impossible georeferencing in the index: the server starts and serves the rest."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from starlette.testclient import TestClient

from sdgcube.app.server import create_app
from sdgcube.datacube import ingest
from sdgcube.datacube.ingest import ingest_file
from sdgcube.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def off_earth_index(empty_cube, make_raster, monkeypatch):
    """A good product and one whose EPSG:4326 bounds are -1000,-500,1000,500, indexed as an older
    ingest (or another tool) let it in."""
    cube, when = empty_cube, datetime(2020, 1, 1)
    data = np.ones((50, 100), dtype="float32")
    good = make_raster(data, name="good.tif")
    ingest_file(cube.dc, cube.settings.archive_dir, good, product="ext_good", when=when)
    monkeypatch.setattr(ingest, "_check_georeferencing", lambda path, src: None)
    bad = make_raster(data, transform=Affine(20, 0, -1000, 0, -20, 500), name="bad.tif")
    ingest_file(cube.dc, cube.settings.archive_dir, bad, product="ext_off_earth", when=when)
    return cube


def test_server_publishes_all_but_the_off_earth_product(off_earth_index, caplog):
    cube = off_earth_index
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


def test_products_listing_names_the_product_the_server_leaves_out(off_earth_index):
    settings = off_earth_index.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDGCUBE_")}
    env["SDGCUBE_DATA_DIR"] = str(settings.data_dir)
    if settings.db_url:
        env["SDGCUBE_DB_URL"] = settings.db_url.get_secret_value()
    sdgcube = str(Path(sys.executable).with_name("sdgcube"))
    done = subprocess.run([sdgcube, "products"], env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {"ext_good", "ext_off_earth"} <= set(done.stdout.split())
    notes = [line for line in done.stderr.splitlines() if "not published" in line]
    assert len(notes) == 1 and notes[0].startswith("ext_off_earth: not published by the server")
    assert "outside the Earth" in notes[0] and "1 not publishable" in done.stderr
