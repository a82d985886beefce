"""``sdgcube products`` and ``sdgcube datasets``: list (the default) and remove."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from sdgcube.cli.errors import user_errors
from sdgcube.cli.options import DataDir, settings_for

__all__ = ["datasets_app", "products_app"]


class ListByDefault(TyperGroup):
    """A group whose ``list`` subcommand runs when no other is named: ``sdgcube products`` and
    ``sdgcube datasets land_cover`` keep working beside ``… remove``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> Any:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["list", *args]
        return super().parse_args(ctx, args)


products_app = typer.Typer(cls=ListByDefault, help="Products of the index: list, remove.")
datasets_app = typer.Typer(cls=ListByDefault, help="Datasets of a product: list, remove.")


@products_app.command("list")
def list_products(data_dir: DataDir = None) -> None:
    """One product name per line; a summary follows on stderr, and a line for each product the
    server cannot publish."""
    from sdgcube.datacube.database import product_counts, resolve_index
    from sdgcube.datacube.extent import off_earth

    with user_errors():
        counts = product_counts(resolve_index(settings_for(data_dir)))
    unpublishable = {c.name: why for c in counts if c.bbox and (why := off_earth(c.bbox))}
    for product in counts:
        print(product.name)
    for name, why in unpublishable.items():
        print(f"{name}: not published by the server: {why} "
              f"(sdgcube products remove {name})", file=sys.stderr)  # fmt: skip
    total = sum(product.datasets for product in counts)
    print(f"{len(counts)} products, {total} datasets, {len(unpublishable)} not publishable",
          file=sys.stderr)  # fmt: skip


@products_app.command("remove")
def remove_product(
    name: Annotated[str, typer.Argument(help="Product name")], data_dir: DataDir = None
) -> None:
    """Delete a product, all its datasets and their archive folders, all or nothing."""
    from sdgcube.datacube.index import init_index
    from sdgcube.datacube.removal import remove_product as remove

    with user_errors():
        settings = settings_for(data_dir)
        removed = remove(init_index(settings), settings.archive_dir, name)
    print(f"removed product {name} with {removed.datasets} datasets")


@datasets_app.command("list")
def list_datasets(
    product: Annotated[str, typer.Argument(help="Product name")],
    time: Annotated[
        str | None, typer.Option(help="Instant, period or start/end, e.g. 2000/2004")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """One dataset per line: id, time, location."""
    from sdgcube.datacube.cube import open_cube

    with user_errors(), open_cube(settings_for(data_dir)) as cube:
        for ds in cube.datasets(product, time=time):
            print(f"{ds.id}\t{ds.center_time.isoformat()}\t{ds.uri}")


@datasets_app.command("remove")
def remove_datasets(
    ids: Annotated[list[str], typer.Argument(help="Dataset ids")], data_dir: DataDir = None
) -> None:
    """Delete datasets and their archive folders, all or nothing; their products stay."""
    from sdgcube.datacube.index import init_index
    from sdgcube.datacube.removal import remove_datasets as remove

    with user_errors():
        settings = settings_for(data_dir)
        removed = remove(init_index(settings), settings.archive_dir, ids)
    print(f"removed {removed.datasets} datasets")
