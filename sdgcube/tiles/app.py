"""The tiles application: TiTiler over the cube's registered products, one collection per product.

Mounted by the main application at ``/tiles``. Routes (relative to the mount):

- ``/collections/{collection_id}/…`` — TiTiler's ``TilerFactory`` routes (tiles, TileJSON, OGC
  tilesets, info, statistics, point, preview, bbox, feature, map viewer) plus the WMTS extension.
- ``/tileMatrixSets[/{tileMatrixSetId}]`` — the supported tiling schemes.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send
from titiler.core.dependencies import create_colormap_dependency
from titiler.core.factory import TilerFactory, TMSFactory
from titiler.extensions.wmts import wmtsExtension

from sdgcube.datacube.cube import Cube, open_cube
from sdgcube.settings import Settings
from sdgcube.tiles._ttl import TtlCache
from sdgcube.tiles.catalog import Catalog
from sdgcube.tiles.dependencies import BandsExprParams, RenderDefaultsMiddleware, source_dependency
from sdgcube.tiles.errors import add_error_handlers
from sdgcube.tiles.overviews import OverviewStore
from sdgcube.tiles.reader import ProductReader, TileSource
from sdgcube.tiles.render import colormaps, render_defaults
from sdgcube.tiles.zoom_bounds import ZoomBoundsMiddleware

__all__ = ["COLLECTION_PREFIX", "RENDER_DEFAULTS_TTL_S", "RENDER_ROUTES", "create_tiles_app"]

COLLECTION_PREFIX = "/collections/{collection_id}"
RENDER_ROUTES = re.compile(
    r"^/collections/[^/]+/(tiles/[^/]+/\d+/\d+/\d+|bbox/|feature|preview|point/|statistics|wms$)"
)
"""Paths (below the mount) of the routes that read and render pixels; the rest answer metadata."""
RENDER_DEFAULTS_TTL_S = 60.0
"""Fallback defaults come from overview statistics, which only change with new datasets."""


def _layer_name(source: TileSource) -> str:
    return source.selection.product


class _RootAtMount:
    """Make the app build its links as if it were served at its mount point (``/tiles``).

    Starlette keeps the outer application's root and router in a mounted app's scope; TiTiler
    builds links from that root plus its own routes, so mounted links would lose the prefix."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("root_path"):
            scope = {k: v for k, v in scope.items() if k != "router"}
            scope["app_root_path"] = scope["root_path"]
        await self.app(scope, receive, send)


def create_tiles_app(settings: Settings, *, cube: Cube | None = None) -> FastAPI:
    """Build the tiles application; ``cube`` lets the caller share an open index."""
    cube = cube or open_cube(settings)
    catalog = Catalog(cube)
    overviews = OverviewStore.of(settings)
    tiler = TilerFactory(
        reader=ProductReader,
        path_dependency=source_dependency(
            catalog, overviews, max_pixels=settings.limits.max_pixels
        ),
        layer_dependency=BandsExprParams,
        colormap_dependency=create_colormap_dependency(colormaps()),
        router_prefix=COLLECTION_PREFIX,
        extensions=[wmtsExtension(layer_identifier_provider=_layer_name)],
    )
    app = FastAPI(
        title="sdgcube tiles",
        description="Map tiles of the products of the cube (registered data only).",
        openapi_url="/api",
        docs_url="/api.html",
    )
    app.include_router(tiler.router, prefix=COLLECTION_PREFIX, tags=["Collections"])
    app.include_router(TMSFactory().router, tags=["Tiling schemes"])
    add_error_handlers(app)
    defaults: TtlCache[str, dict[str, str]] = TtlCache(
        lambda product: render_defaults(cube, product), ttl=RENDER_DEFAULTS_TTL_S
    )
    app.add_middleware(RenderDefaultsMiddleware, defaults=defaults.get)
    app.add_middleware(ZoomBoundsMiddleware)
    app.add_middleware(_RootAtMount)
    return app
