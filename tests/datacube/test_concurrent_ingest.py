"""Many jobs registering results at once: every one lands, none deadlocks, nothing half-written."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import numpy as np
import pytest

from sdgcube.datacube.cube import Cube, open_cube
from sdgcube.datacube.ingest import ingest_file

JOBS = 16


@pytest.mark.slow
def test_sixteen_new_products_registered_at_once(empty_cube: Cube, make_raster) -> None:
    """Each job adds its own product (ODC builds its indexes under a table lock) and a dataset:
    unserialised, PostgreSQL reported deadlocks on ``INSERT INTO agdc.dataset``."""
    paths = [
        make_raster(np.full((20, 30), i, dtype="int16"), name=f"job{i}.tif") for i in range(JOBS)
    ]
    cubes = [open_cube(empty_cube.settings) for _ in range(JOBS)]
    start = threading.Barrier(JOBS)

    def register(i: int) -> str:
        start.wait()
        result = ingest_file(cubes[i].dc, empty_cube.settings.archive_dir, paths[i],
                             product=f"concurrent_{i}", when=datetime(2021, 1, 1))  # fmt: skip
        return result.dataset_id

    with ThreadPoolExecutor(JOBS) as pool:
        dataset_ids = list(pool.map(register, range(JOBS)))  # re-raises the first failure

    assert len(set(dataset_ids)) == JOBS
    for i in range(JOBS):
        values = empty_cube.load(f"concurrent_{i}", chunks=None)[f"concurrent_{i}"].values
        assert (values == i).all()
    archive = empty_cube.settings.archive_dir
    folders = [p for p in archive.rglob("*") if p.is_dir()]
    assert not [p for p in folders if p.name.startswith(".")], "temporary folders left behind"
    assert not [p for p in folders if not any(p.iterdir())], "empty folders left behind"
