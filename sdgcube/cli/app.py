"""``sdgcube`` commands: configuration, index, demo archive, ingestion and listings."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sdgcube.cli.boundaries import boundaries
from sdgcube.cli.errors import fail, user_errors
from sdgcube.cli.run import run
from sdgcube.cli.serve import serve
from sdgcube.settings import Settings, masked_config

__all__ = ["app", "main"]

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="sdgcube: SDG indicators from an Open Data Cube.",
)
db_app = typer.Typer(no_args_is_help=True, help="The index database.")
app.add_typer(db_app, name="db")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data folder (overrides SDGCUBE_DATA_DIR).", show_default=False
    ),
]


def _settings(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=Console(stderr=True),
    )  # fmt: skip


@app.command()
def config(data_dir: DataDir = None) -> None:
    """Print the effective configuration (passwords masked) as JSON."""
    with user_errors():
        print(json.dumps(masked_config(_settings(data_dir)), indent=2))


@db_app.command("init")
def db_init(data_dir: DataDir = None) -> None:
    """Create the index schema and the built-in products; safe to run again."""
    from sdgcube.datacube.index import init_index

    with user_errors():
        settings = _settings(data_dir)
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
        settings = _settings(data_dir)
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
        print("stopped" if stop_embedded(_settings(data_dir)) else "not running")


@app.command("demo-data")
def demo_data(
    size: Annotated[str, typer.Option(help="small | medium | large")] = "small",
    seed: Annotated[
        int, typer.Option(help="Random seed; the archive is deterministic per seed")
    ] = 42,
    data_dir: DataDir = None,
) -> None:
    """Write and index the synthetic demo archive with planted events and their ground truth."""
    from sdgcube.datacube.demo import SIZES, generate_demo
    from sdgcube.datacube.index import init_index

    with user_errors():
        if size not in SIZES:
            raise fail(f"--size must be one of {', '.join(SIZES)}, not {size!r}")
        settings = _settings(data_dir)
        dc = init_index(settings)
        with _progress() as bar:
            task = bar.add_task(f"demo archive ({size})", total=None)
            generate_demo(
                dc, settings.archive_dir, settings.data_dir / "demo", size=size, seed=seed,
                on_total=lambda n: bar.update(task, total=n),
                progress=lambda product: bar.update(task, advance=1, description=f"demo {size}: {product:<20}"),
            )  # fmt: skip
        print(
            f"demo archive in {settings.archive_dir}; ground truth in {settings.data_dir / 'demo'}"
        )


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
        settings = _settings(data_dir)
        dc = init_index(settings)
        infos = plan_ingest(dc, files, product, timestamp)
        with _progress() as bar:
            task = bar.add_task(f"ingest into {product}", total=len(infos))
            results = []
            for info in infos:
                results.append(
                    ingest_raster(dc, settings.archive_dir, info, product=product, when=timestamp)
                )
                bar.advance(task)
        write_archive_catalog(settings.archive_dir)
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
        dc = init_index(_settings(data_dir))
        with _progress() as bar:
            task = bar.add_task("index STAC items", total=len(items))
            added = index_items(dc, items, product, progress=lambda n: bar.advance(task, n))
        print(f"{added} new datasets, {len(items) - added} already indexed")


@app.command()
def products(data_dir: DataDir = None) -> None:
    """One product name per line; a summary follows on stderr."""
    from sdgcube.datacube.cube import open_cube

    with user_errors():
        with open_cube(_settings(data_dir)) as cube:
            total = 0
            names = [p.name for p in cube.products()]
            for name in names:
                print(name)
                total += cube.dc.index.datasets.count(product=name)
        print(f"{len(names)} products, {total} datasets", file=sys.stderr)


@app.command()
def datasets(
    product: Annotated[str, typer.Argument(help="Product name")],
    time: Annotated[
        str | None, typer.Option(help="Instant, period or start/end, e.g. 2000/2004")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """One dataset per line: id, time, location."""
    from sdgcube.datacube.cube import open_cube

    with user_errors(), open_cube(_settings(data_dir)) as cube:
        for ds in cube.datasets(product, time=time):
            print(f"{ds.id}\t{ds.center_time.isoformat()}\t{ds.uri}")


app.command("boundaries")(boundaries)
app.command("serve")(serve)
app.command("run")(run)


def main() -> None:
    app()
