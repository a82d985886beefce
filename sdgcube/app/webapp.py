"""The web app at ``/app`` (built by ``make install`` from ``web/app/`` into the package's
``web/dist/app``) and the legend document it draws each collection's legend from.

The legend lives at ``/collections/{id}/legend`` rather than under ``/app`` so that the access
policy holds it to the collection it names, like every other route of a collection."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from sdgcube.app.errors import error_response, ogc_exception
from sdgcube.datacube.cube import Cube
from sdgcube.errors import SdgcubeError
from sdgcube.tiles.render import colormaps, render_defaults

__all__ = ["APP_DIR", "Legend", "legend_of", "webapp_routes"]

APP_DIR = Path(str(files("sdgcube"))) / "web" / "dist" / "app"
RAMP_STOPS = 9
"""Colours sampled from a continuous colormap: enough for a smooth CSS gradient."""


@dataclass(frozen=True)
class LegendClass:
    value: int
    name: str
    color: str


@dataclass(frozen=True)
class Legend:
    """How a collection's default tiles are drawn, in terms a legend can show."""

    collection: str
    bands: tuple[str, ...]
    units: str | None
    rescale: tuple[float, float] | None
    colormap_name: str | None
    classes: tuple[LegendClass, ...]
    """Classified products: each value with its name and colour (empty for continuous ones)."""
    ramp: tuple[str, ...]
    """Continuous products drawn with a colormap: colours from ``rescale[0]`` to ``rescale[1]``."""


def _hex(rgba: Any) -> str:
    return "#" + "".join(f"{int(c):02x}" for c in tuple(rgba)[:4])


def _class_names(measurement: dict[str, Any]) -> dict[int, str]:
    """Value → name from the first flags definition of a band (ODC's ``flags_definition``)."""
    for flag in (measurement.get("flags_definition") or {}).values():
        values = flag.get("values") or {}
        return {int(k): str(v).replace("_", " ") for k, v in values.items()}
    return {}


def legend_of(cube: Cube, collection: str) -> Legend:
    """The legend of ``collection`` (raises ``UnknownProduct`` for an unknown one)."""
    measurements = cube.product(collection).measurements
    params = render_defaults(cube, collection)
    bands = tuple(b for b in params.get("bands", "").split(",") if b) or tuple(measurements)[:1]
    first = dict(measurements.get(bands[0], {})) if bands else {}
    rescale = tuple(float(v) for v in params["rescale"].split(",")) if "rescale" in params else None
    name = params.get("colormap_name")
    classes: tuple[LegendClass, ...] = ()
    ramp: tuple[str, ...] = ()
    cmap = colormaps().get(name) if name is not None else None
    if isinstance(cmap, dict):  # rio-tiler's interval colormaps (a sequence) have no legend here
        names = _class_names(first)
        if len(cmap) < 256 or names:
            classes = tuple(
                LegendClass(int(v), names.get(int(v), str(v)), _hex(rgba))
                for v, rgba in sorted(cmap.items())
            )
        else:
            step = 255 / (RAMP_STOPS - 1)
            ramp = tuple(_hex(cmap[round(i * step)]) for i in range(RAMP_STOPS))
    return Legend(
        collection=collection,
        bands=bands,
        units=first.get("units"),
        rescale=(rescale[0], rescale[1]) if rescale else None,
        colormap_name=name,
        classes=classes,
        ramp=ramp,
    )


class AppFiles:
    """The built app, or a 503 saying how to build it (a checkout without ``make install``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files: StaticFiles | None = None

    @property
    def built(self) -> bool:
        return (self.directory / "index.html").is_file()

    def unbuilt(self) -> Response:
        message = "the web app is not built: run `make install` (it builds web/app/)"
        return ogc_exception(503, "ServiceUnavailable", message)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.built:
            await self.unbuilt()(scope, receive, send)
            return
        if self.files is None:
            self.files = StaticFiles(directory=self.directory, html=True)
        await self.files(scope, receive, send)


def webapp_routes(cube: Cube, directory: Path = APP_DIR) -> list[BaseRoute]:
    """``/app`` (``/app/`` is its ``index.html``) and ``/collections/{id}/legend``."""

    async def legend(request: Request) -> Response:
        try:
            found = await run_in_threadpool(legend_of, cube, request.path_params["collection_id"])
        except SdgcubeError as exc:
            return error_response(exc)
        return JSONResponse(asdict(found))

    files = AppFiles(directory)

    async def app_root(request: Request) -> Response:
        if not files.built:
            return files.unbuilt()
        # relative, so that it holds behind a proxy's path prefix too
        return RedirectResponse("app/", status_code=307)

    return [
        Route("/collections/{collection_id}/legend", legend),
        Route("/app", app_root),
        Mount("/app", files),
    ]
