"""Publication is incremental: with many products, one more costs the same as with a few.

Performance itself is measured by benchmarks/bench_publication.py; this test counts what a refresh
does (SQL statements, products summarised), which does not depend on the machine."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import numpy as np
import pytest
import sqlalchemy as sa
from affine import Affine
from starlette.testclient import TestClient

from sdgcube.app import publisher as publisher_module
from sdgcube.app.server import create_app
from sdgcube.datacube.index import init_index
from sdgcube.datacube.ingest import IngestRequest, ingest_rasters, inspect_raster
from sdgcube.settings import Settings

pytestmark = pytest.mark.slow

PRODUCTS = 40
WHEN = datetime(2021, 1, 1)


def _ingest(settings: Settings, make_raster, names: list[str]) -> None:
    data = np.ones((8, 8), dtype="float32")
    requests = []
    for i, name in enumerate(names):
        transform = Affine(0.01, 0, -170 + 8 * (i % 40), 0, -0.01, 40 - (i // 40))
        path = make_raster(data, transform=transform, name=f"{name}.tif")
        requests.append(IngestRequest(inspect_raster(path), name, WHEN))
    dc = init_index(settings)
    try:
        ingest_rasters(dc, settings.archive_dir, requests)
    finally:
        dc.close()


@contextmanager
def _statements() -> Iterator[list[str]]:
    """Every SQL statement this thread runs meanwhile (the server's watcher runs in others)."""
    seen: list[str] = []
    thread = threading.get_ident()

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if threading.get_ident() == thread:
            seen.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


def test_one_new_product_is_published_alone(backend, make_settings, make_raster, monkeypatch):
    settings = make_settings(backend)
    _ingest(settings, make_raster, [f"many_{i:03d}" for i in range(PRODUCTS)])
    summarised: list[list[str]] = []
    batch = publisher_module.summarise_products

    def spy(cube, names=None):
        summarised.append(list(names or []))
        return batch(cube, names)

    monkeypatch.setattr(publisher_module, "summarise_products", spy)
    served = Settings(data_dir=settings.data_dir, db_url=settings.db_url, watch_interval_s=3600)
    with TestClient(create_app(served)) as client:
        publisher = client.app.state.publisher
        # Start-up summarises every product in one batch.
        assert len(summarised) == 1 and len(summarised[0]) >= PRODUCTS
        with _statements() as idle:
            assert publisher.refresh() is False
        # Nothing changed: the index state costs a few statements, not some per product.
        assert 0 < len(idle) < 6, idle

        _ingest(settings, make_raster, ["many_new"])
        with _statements() as statements:
            assert publisher.refresh() is True
        assert summarised[1:] == [["many_new"]]
        assert len(statements) < PRODUCTS / 2, statements

        assert client.get("/collections/many_new", params={"f": "json"}).status_code == 200
        capabilities = client.get(
            "/mapproxy/service", params={"SERVICE": "WMS", "REQUEST": "GetCapabilities"}
        )
        assert "<Name>many_new</Name>" in capabilities.text
        assert "<Name>many_000</Name>" in capabilities.text
