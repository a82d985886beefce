"""Fixtures of the tiles tests: one client over the demo archive."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from sdgcube.datacube.cube import Cube
from sdgcube.tiles import create_tiles_app


@pytest.fixture(scope="session")
def client(demo: tuple[Cube, dict]) -> TestClient:
    """One tiles application over the demo archive, shared by every tiles test."""
    cube, _ = demo
    return TestClient(create_tiles_app(cube.settings, cube=cube))
