"""Fixtures of the process tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def demo_env(demo, monkeypatch, tmp_path):
    """The demo (cube, truth), with the environment ``execute`` reads its Settings from pointing at it."""
    cube, truth = demo
    for var in ("SDGCUBE_CONFIG", "SDGCUBE_DASK_ADDRESS", "SDGCUBE_DB_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray sdgcube.yaml
    monkeypatch.setenv("SDGCUBE_DATA_DIR", str(cube.settings.data_dir))
    if cube.settings.db_url is not None:
        monkeypatch.setenv("SDGCUBE_DB_URL", cube.settings.db_url.get_secret_value())
    return cube, truth
