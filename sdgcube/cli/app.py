"""``sdgcube`` commands: configuration, index, demo archive, ingestion and listings.

Every command pays for the imports of this module and of the ones it registers, so they stay light
(typer, the standard library): a command body imports what it needs — ODC, xarray and the server
stacks cost seconds (benchmarks/bench_cli.py).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from sdgcube.cli.accounts import audit, keys_app, users_app
from sdgcube.cli.boundaries import boundaries
from sdgcube.cli.errors import fail, user_errors
from sdgcube.cli.listings import datasets_app, products_app
from sdgcube.cli.models import models_app
from sdgcube.cli.options import DataDir, progress_bar, settings_for
from sdgcube.cli.report import report
from sdgcube.cli.run import run
from sdgcube.cli.serve import serve
from sdgcube.cli.training import evaluate, train

__all__ = ["app", "main"]

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="sdgcube: SDG indicators from an Open Data Cube.",
)
db_app = typer.Typer(no_args_is_help=True, help="The index database.")
app.add_typer(db_app, name="db")
app.add_typer(products_app, name="products")
app.add_typer(datasets_app, name="datasets")
app.add_typer(models_app, name="models")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")


@app.command()
def config(data_dir: DataDir = None) -> None:
    """Print the effective configuration (passwords masked) as JSON."""
    from sdgcube.settings import masked_config

    with user_errors():
        print(json.dumps(masked_config(settings_for(data_dir)), indent=2))


@db_app.command("init")
def db_init(data_dir: DataDir = None) -> None:
    """Create the index schema and the built-in products; safe to run again."""
    from sdgcube.datacube.index import init_index

    with user_errors():
        settings = settings_for(data_dir)
        dc = init_index(settings)
        count = len(list(dc.index.products.get_all()))
        print(
            f"index ready ({'embedded' if settings.db_url is None else 'external'}), {count} products"
        )


@db_app.command("status")
def db_status(data_dir: DataDir = None) -> None:
    """Say whether the embedded PostgreSQL is running."""
    from sdgcube.datacube.database import embedded_status

    with user_errors():
        settings = settings_for(data_dir)
        if settings.db_url is not None:
            print("external database (SDGCUBE_DB_URL); nothing embedded to report")
            return
        status = embedded_status(settings)
        state = f"running (pid {status.pid})" if status.running else "stopped"
        print(f"embedded PostgreSQL in {status.pgdata}: {state}")


@db_app.command("stop")
def db_stop(data_dir: DataDir = None) -> None:
    """Stop the embedded PostgreSQL if a crashed process left it running."""
    from sdgcube.datacube.database import stop_embedded

    with user_errors():
        print("stopped" if stop_embedded(settings_for(data_dir)) else "not running")


_SIZES_HELP = (
    "small (200² px, 2000-2024, every product, ~10 s) | medium (800²) | large (2048²) | "
    "country (8192² px, 2000-2015: reflectance, land cover, soil carbon — what sdg-15-3-1 reads)"
)


@app.command("demo-data")
def demo_data(
    size: Annotated[str, typer.Option(help=_SIZES_HELP)] = "small",
    seed: Annotated[
        int, typer.Option(help="Random seed; the archive is deterministic per seed")
    ] = 42,
    chips: Annotated[
        int | None, typer.Option(help="Number of 0.5 m building chips (default: by size)")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Processes writing datasets (default: one per core, at most 8); "
            "the archive is the same for any number"
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write and index the synthetic demo archive with planted events and their ground truth, then
    compile the indicator kernels as ``warmup`` does."""
    from sdgcube.datacube.demo import SIZES, generate_demo
    from sdgcube.datacube.index import init_index
    from sdgcube.indicators.warmup import warm_up

    with user_errors():
        if size not in SIZES:
            raise fail(f"--size must be one of {', '.join(SIZES)}, not {size!r}")
        settings = settings_for(data_dir)
        dc = init_index(settings)
        with progress_bar() as bar:
            task = bar.add_task(f"demo archive ({size})", total=None)
            generate_demo(
                dc, settings.archive_dir, settings.data_dir / "demo", size=size, seed=seed,
                chips=chips, workers=workers, on_total=lambda n: bar.update(task, total=n),
                progress=lambda product: bar.update(task, advance=1, description=f"demo {size}: {product:<20}"),
            )  # fmt: skip
            bar.update(task, description="compiling the indicator kernels (once)")
            warm_up()
        print(
            f"demo archive in {settings.archive_dir}; ground truth in {settings.data_dir / 'demo'}"
        )


@app.command()
def warmup() -> None:
    """Compile the indicator kernels into numba's cache so that no job waits for it.

    ``make install`` and ``demo-data`` run it; run it as the user who serves when the package is
    installed read-only (the cache then lives in that user's cache folder)."""
    from sdgcube.indicators.warmup import warm_up

    start = time.perf_counter()
    cache = warm_up()
    print(f"kernels compiled and cached in {cache} ({time.perf_counter() - start:.1f} s)")


def _parse_datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--datetime {value!r} is not an ISO 8601 date or date-time") from None


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Raster files GDAL can read")],
    product: Annotated[
        str, typer.Option(help="Product to ingest into; created from the file if new")
    ],
    when: Annotated[
        str | None, typer.Option("--datetime", help="Acquisition time (ISO 8601)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Validate files, convert them to COGs, describe them in STAC and index them.

    Every file is checked before any is written: one bad file stops the run with nothing changed."""
    from sdgcube.datacube.index import init_index
    from sdgcube.datacube.indexing import write_archive_catalog
    from sdgcube.datacube.ingest import ingest_raster, plan_ingest

    with user_errors():
        timestamp = _parse_datetime(when)
        missing = [str(path) for path in files if not path.is_file()]
        if missing:
            raise fail(f"not a file: {', '.join(missing)}")
        settings = settings_for(data_dir)
        dc = init_index(settings)
        infos = plan_ingest(dc, files, product, timestamp)
        with progress_bar() as bar:
            task = bar.add_task(f"ingest into {product}", total=len(infos))
            results = []
            for info in infos:
                results.append(
                    ingest_raster(dc, settings.archive_dir, info, product=product, when=timestamp)
                )
                bar.advance(task)
        write_archive_catalog(settings.archive_dir, products={product})
        for result in results:
            state = "already indexed" if result.already_indexed else "indexed"
            print(f"{result.dataset_id}\t{state}\t{result.item_path}")


@app.command("index")
def index_stac(
    source: Annotated[
        str, typer.Argument(help="STAC catalog, collection, item or folder (path or URL)")
    ],
    product: Annotated[
        str | None, typer.Option(help="Product for all items (default: each item's collection)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Index existing STAC items whose assets are local COGs/GeoTIFFs (e.g. Landsat C2 L2, Sentinel-2 L2A)."""
    from sdgcube.datacube.index import init_index
    from sdgcube.datacube.indexing import index_items, read_items

    with user_errors():
        items = list(read_items(source))
        if not items:
            raise fail(f"no STAC items found in {source}")
        dc = init_index(settings_for(data_dir))
        with progress_bar() as bar:
            task = bar.add_task("index STAC items", total=len(items))
            added = index_items(dc, items, product, progress=lambda n: bar.advance(task, n))
        print(f"{added} new datasets, {len(items) - added} already indexed")


app.command("boundaries")(boundaries)
app.command("serve")(serve)
app.command("run")(run)
app.command("train")(train)
app.command("evaluate")(evaluate)
app.command("audit")(audit)
app.command("report")(report)


def main() -> None:
    app()
