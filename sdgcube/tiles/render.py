"""Default rendering per product, for clients that ask for a tile with no styling parameters.

QGIS XYZ layers and MapProxy request plain ``/{z}/{x}/{y}.png``; the defaults in ``render.yaml``
(bands, rescale, colormap) turn that into a sensible picture. A product without an entry — a
processing result such as an NDVI — is drawn from its first band, stretched between the 2nd and 98th
percentiles recorded in its overview. The defaults are given in query-parameter form so that the
MapProxy configuration can put them in its source URLs as well.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import rasterio
import yaml
from pydantic import BaseModel, ConfigDict
from rio_tiler.colormap import ColorMaps, parse_color
from rio_tiler.colormap import cmap as builtin_colormaps

from sdgcube.datacube.cube import Cube
from sdgcube.tiles.catalog import select
from sdgcube.tiles.overviews import OverviewStore

__all__ = [
    "STYLE_PARAMETERS",
    "RenderConfig",
    "RenderSpec",
    "colormaps",
    "render_config",
    "render_defaults",
]

STYLE_PARAMETERS = frozenset(
    {"bands", "expression", "rescale", "colormap_name", "colormap", "color_formula"}
)
"""A request naming any of these chose its own rendering: no default is added to it."""


class RenderSpec(BaseModel):
    """How to draw one product."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bands: tuple[str, ...] = ()
    rescale: tuple[float, float] | None = None
    colormap_name: str | None = None

    def query(self) -> dict[str, str]:
        """The spec as tile query parameters (comma form for lists)."""
        params: dict[str, str] = {}
        if self.bands:
            params["bands"] = ",".join(self.bands)
        if self.rescale:
            params["rescale"] = f"{self.rescale[0]:g},{self.rescale[1]:g}"
        if self.colormap_name:
            params["colormap_name"] = self.colormap_name
        return params


class FallbackSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    colormap_name: str


class RenderConfig(BaseModel):
    """``render.yaml``, parsed once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    colormaps: dict[str, dict[int, str]]
    products: dict[str, RenderSpec]
    fallback: FallbackSpec


@cache
def render_config() -> RenderConfig:
    text = files("sdgcube.tiles").joinpath("render.yaml").read_text()
    return RenderConfig.model_validate(yaml.safe_load(text))


@cache
def colormaps() -> ColorMaps:
    """rio-tiler's colormaps plus the discrete ones of ``render.yaml``."""
    custom = {
        name: {value: parse_color(colour) for value, colour in entries.items()}
        for name, entries in render_config().colormaps.items()
    }
    return builtin_colormaps.register(custom)  # type: ignore[arg-type]


def render_defaults(cube: Cube, product: str) -> dict[str, str]:
    """Query parameters that draw ``product`` well when a client gives none.

    Configured products need no I/O; others read (building if needed) the overview of their latest
    time slice for its percentiles."""
    config = render_config()
    spec = config.products.get(product)
    if spec is not None:
        return spec.query()
    selection = select(cube, product, None)
    path = OverviewStore.of(cube.settings).ensure(cube, selection)
    with rasterio.open(path) as overview:
        tags = overview.tags(1)
    rescale = None
    if "STATISTICS_P2" in tags:
        low, high = float(tags["STATISTICS_P2"]), float(tags["STATISTICS_P98"])
        rescale = (low, high if high > low else low + 1)
    first = selection.bands[0].name
    return RenderSpec(
        bands=(first,), rescale=rescale, colormap_name=config.fallback.colormap_name
    ).query()
