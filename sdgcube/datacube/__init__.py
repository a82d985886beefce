"""The data layer: the ODC index (embedded PostgreSQL or PostGIS), products, the archive of COGs and
STAC items, ingestion, and ``open_cube().load`` returning dask-backed xarray."""

from __future__ import annotations

from sdgcube.datacube.cube import Cube, open_cube

__all__ = ["Cube", "open_cube"]
