"""``sdgcube boundaries``: load administrative units (or any vector file) as a feature collection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sdgcube.cli.errors import user_errors

__all__ = ["boundaries"]


def boundaries(
    file: Annotated[
        Path,
        typer.Argument(help="GeoPackage, GeoJSON file or Shapefile (.shp)", show_default=False),
    ],
    name: Annotated[
        str, typer.Option(help="Layer (collection) name: a-z, 0-9 and _")
    ] = "admin_units",
    id_field: Annotated[
        str | None,
        typer.Option(
            "--id-field", help="Unique property to take feature ids from (default: 1, 2, …)"
        ),
    ] = None,
    layer: Annotated[
        str | None, typer.Option(help="Layer of a multi-layer file such as a GeoPackage")
    ] = None,
    title: Annotated[
        str | None, typer.Option(help="Human-readable title of the collection")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Data folder (overrides SDGCUBE_DATA_DIR).", show_default=False
        ),
    ] = None,
) -> None:
    """Load a vector file into the index as a layer, replacing a layer of the same name.

    The file is checked completely first (CRS, geometries, unique ids): on error nothing changes."""
    from sdgcube.datacube.vectors import load_vector_file
    from sdgcube.settings import Settings

    with user_errors():
        settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
        loaded = load_vector_file(
            settings, file, name=name, id_field=id_field, layer=layer, title=title
        )
        bbox = ", ".join(f"{v:.6f}" for v in loaded.bbox)
        print(f"loaded {loaded.feature_count} features into layer {loaded.name} (bbox {bbox})")
