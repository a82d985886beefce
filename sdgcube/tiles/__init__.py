"""Tiles over registered assets only: TiTiler over the cube's products, with per-slice overviews.

``create_tiles_app(settings)`` builds the FastAPI application mounted at ``/tiles``;
``render_defaults(cube, product)`` gives the query parameters that draw a product when a client
names none (for the MapProxy configuration); ``build_overviews(cube, product)`` prepares the
overview of a product's latest time slice, e.g. right after a result is registered.
"""

from __future__ import annotations

from sdgcube.tiles.app import create_tiles_app
from sdgcube.tiles.overviews import build_overviews
from sdgcube.tiles.render import render_defaults

__all__ = ["build_overviews", "create_tiles_app", "render_defaults"]
