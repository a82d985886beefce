"""The data layer: the ODC index (embedded PostgreSQL or PostGIS), products, the archive of COGs and
STAC items, ingestion, and ``open_cube().load`` returning dask-backed xarray."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Cube", "open_cube"]

if TYPE_CHECKING:
    from sdgcube.datacube.cube import Cube, open_cube


def __getattr__(name: str) -> Any:
    # The cube imports ODC, xarray and dask (seconds): a submodule such as ``database`` must not
    # pay for them, and every submodule import runs this package first.
    if name in __all__:
        from sdgcube.datacube import cube

        return getattr(cube, name)
    raise AttributeError(f"module 'sdgcube.datacube' has no attribute {name!r}")
