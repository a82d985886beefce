"""FastAPI dependencies that replace TiTiler's defaults, and the middleware that adds default styling.

TiTiler's own path dependency takes a ``url`` query parameter and opens whatever it names; ours
takes the collection id from the path and returns only what the index registered under it, so
there is no way to name a file or URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

import anyio.to_thread
from fastapi import Path, Query
from starlette.types import ASGIApp, Receive, Scope, Send
from titiler.core.dependencies import DefaultDependency

from sdgcube.errors import SdgcubeError
from sdgcube.tiles.catalog import Catalog
from sdgcube.tiles.overviews import OverviewStore
from sdgcube.tiles.reader import TileSource
from sdgcube.tiles.render import STYLE_PARAMETERS

__all__ = ["BandsExprParams", "RenderDefaultsMiddleware", "source_dependency"]


def source_dependency(
    catalog: Catalog, overviews: OverviewStore, *, max_pixels: int
) -> Callable[[str, str | None], TileSource]:
    """The ``path_dependency`` of the tiler: a registered product, selected by ``datetime``."""

    def source(
        collection_id: Annotated[
            str, Path(description="Name of a product (collection) of the cube")
        ],
        time: Annotated[
            str | None,
            Query(
                alias="datetime",
                description="A year (2020), date, date-time or interval (2010/2020); default: the latest "
                "time slice. Where datasets overlap, the newest one within the selection wins.",
            ),
        ] = None,
    ) -> TileSource:
        return TileSource(catalog.select(collection_id, time), catalog.cube, overviews, max_pixels)

    return source


def _split_commas(values: list[str] | None) -> list[str] | None:
    """``bands=red&bands=green`` and ``bands=red,green`` mean the same."""
    if values is None:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()] or None


@dataclass
class BandsExprParams(DefaultDependency):
    """Bands by measurement name (or alias), or a band-math expression over those names."""

    bands: Annotated[
        list[str] | None,
        Query(
            description="Measurement names: repeat the parameter or separate with commas (red,green,blue)"
        ),
    ] = None
    expression: Annotated[
        str | None,
        Query(
            description="Band math over measurement names, e.g. (nir08-red)/(nir08+red); ';' separates outputs"
        ),
    ] = None

    def __post_init__(self) -> None:
        self.bands = _split_commas(self.bands)


_COLLECTION_PATH = re.compile(r"^/collections/(?P<collection>[^/]+)/(?P<rest>.+)$")
_UNSTYLED = re.compile(r"^(info(\.geojson)?|statistics|point/.*)$")
"""Routes that return numbers, not pictures: they read every band unless told otherwise."""


class RenderDefaultsMiddleware:
    """Adds a product's default rendering to image, TileJSON, tileset and WMTS requests without any.

    Working on the query string means tile URLs written into TileJSON and WMTS documents carry the
    defaults explicitly, so caches such as MapProxy key on what is actually drawn."""

    def __init__(self, app: ASGIApp, *, defaults: Callable[[str], Mapping[str, str]]) -> None:
        self.app = app
        self.defaults = defaults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = await self._with_defaults(scope)
        await self.app(scope, receive, send)

    async def _with_defaults(self, scope: Scope) -> Scope:
        path, root = scope["path"], scope.get("root_path", "")
        match = _COLLECTION_PATH.match(
            path[len(root) :] if root and path.startswith(root) else path
        )
        if match is None or _UNSTYLED.match(match["rest"]):
            return scope
        params = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if any(key in STYLE_PARAMETERS for key, _ in params):
            return scope
        try:
            extra = await anyio.to_thread.run_sync(self.defaults, match["collection"])
        except SdgcubeError:
            return scope  # unknown product or no data: the route itself answers 404
        return {**scope, "query_string": urlencode([*params, *extra.items()]).encode("latin-1")}
