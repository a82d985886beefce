"""Shared fixtures: index backends (embedded PostgreSQL and PostgreSQL + PostGIS), synthetic rasters,
and the small demo archive."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
import sqlalchemy as sa
from affine import Affine

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.database import norm_db_url, stop_embedded
from sdgcube.datacube.demo import generate_demo
from sdgcube.datacube.index import init_index
from sdgcube.settings import Settings

BACKENDS = ["embedded", "postgis"]
POSTGIS_URL = os.environ.get("SDGCUBE_TEST_POSTGIS_URL")
# What CI sets on purpose; every other SDGCUBE_* variable of the shell is removed for the tests.
KEPT_VARIABLES = frozenset(
    {"SDGCUBE_TEST_POSTGIS_URL", "SDGCUBE_REQUIRE_POSTGIS", "SDGCUBE_REQUIRE_GDAL"}
)


def _strip_sdgcube_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SDGCUBE_") and name not in KEPT_VARIABLES:
            monkeypatch.delenv(name)


@pytest.fixture(scope="session", autouse=True)
def _session_isolation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The shell's SDGCUBE_* variables out of the session fixtures too; at the end, every embedded
    PostgreSQL still running under this session's temporary folder stopped — whoever started it
    (this process, a CLI or server subprocess): a killed process leaves its server running."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _strip_sdgcube_environment(monkeypatch)
        yield
        pidfiles = tmp_path_factory.getbasetemp().glob("**/index/pgdata/postmaster.pid")
        for pidfile in sorted(pidfiles):
            stop_embedded(Settings(data_dir=pidfile.parents[2]))


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Each test without the shell's SDGCUBE_* variables (or one an earlier test left behind), run
    from an empty folder so that no stray ./sdgcube.yaml is read."""
    _strip_sdgcube_environment(monkeypatch)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


def _admin(statement: str) -> None:
    engine = sa.create_engine(norm_db_url(POSTGIS_URL or ""), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def _postgis_database() -> Iterator[str]:
    if not POSTGIS_URL:
        if os.environ.get("SDGCUBE_REQUIRE_POSTGIS"):
            pytest.fail("SDGCUBE_REQUIRE_POSTGIS is set but SDGCUBE_TEST_POSTGIS_URL is not")
        pytest.skip(
            "set SDGCUBE_TEST_POSTGIS_URL to run the PostGIS index tests (.ci/start-postgis)"
        )
    name = f"sdgcube_test_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield (
            sa.engine.make_url(norm_db_url(POSTGIS_URL))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def make_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Settings]]:
    """Settings for a fresh, empty index on the named backend."""
    cleanups: list[Iterator[str]] = []

    def make(backend: str) -> Settings:
        data_dir = tmp_path_factory.mktemp(f"data-{backend}")
        if backend == "embedded":
            return Settings(data_dir=data_dir)
        database = _postgis_database()
        cleanups.append(database)
        return Settings(data_dir=data_dir, db_url=next(database))

    yield make
    for database in cleanups:
        next(database, None)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def bare_settings(backend: str, make_settings: Callable[[str], Settings]) -> Settings:
    """A fresh database on each backend without the ODC schema: for sdgcube's own tables."""
    return make_settings(backend)


@pytest.fixture(scope="session")
def empty_cube(backend: str, make_settings: Callable[[str], Settings]) -> Cube:
    """An initialised index with only the built-in products, one per backend."""
    settings = make_settings(backend)
    return Cube(init_index(settings), settings)


@pytest.fixture(scope="session")
def demo(backend: str, make_settings: Callable[[str], Settings]) -> tuple[Cube, dict]:
    """The small demo archive (seed 7), indexed on each backend, with its truth document."""
    settings = make_settings(backend)
    dc = init_index(settings)
    generate_demo(dc, settings.archive_dir, settings.data_dir / "demo", size="small", seed=7)
    truth = json.loads((settings.data_dir / "demo" / "truth.json").read_text())
    return Cube(dc, settings), truth


@pytest.fixture
def make_raster(tmp_path: Path) -> Callable[..., Path]:
    """Write a small GeoTIFF: ``make_raster(data, crs=..., transform=..., nodata=...)``."""

    def make(
        data: np.ndarray,
        *,
        crs: str | None = "EPSG:4326",
        transform: Affine = Affine(0.001, 0, 10.0, 0, -0.001, 20.0),
        nodata: float | None = None,
        name: str = "input.tif",
        driver: str = "GTiff",
        tags: dict[str, str] | None = None,
    ) -> Path:
        bands = data[np.newaxis] if data.ndim == 2 else data
        path = tmp_path / name
        profile = dict(driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0],
                       dtype=bands.dtype, crs=crs, transform=transform, nodata=nodata)  # fmt: skip
        if driver == "GTiff":
            with rasterio.open(path, "w", **profile) as dst:
                dst.write(bands)
                if tags:
                    dst.update_tags(**tags)
            return path
        with rasterio.MemoryFile() as mem:
            with mem.open(**profile) as dst:
                dst.write(bands)
            with mem.open() as src:
                rasterio.shutil.copy(src, path, driver=driver)
        return path

    return make
