"""What a map tile costs at each zoom, read from the overview and from the datasets themselves.

Run: ``.venv/bin/python benchmarks/bench_tiles.py [--size small|medium|large] [--product sr_annual]``.
It builds the demo archive of that size in a temporary data dir (or reuses ``--data-dir``), times
building the product's overview, then requests up to ``--tiles`` Web Mercator tiles per zoom with
the default rendering, in-process (no HTTP server, one client), and prints the median milliseconds
per tile at each zoom for both sources. The issue's requirement: zoom 0 costs about what zoom 14 does.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import morecantile
from fastapi.testclient import TestClient

from sdgcube.datacube.cube import Cube
from sdgcube.datacube.demo import generate_demo
from sdgcube.datacube.index import init_index
from sdgcube.settings import Settings
from sdgcube.tiles import build_overviews, create_tiles_app
from sdgcube.tiles import reader as reader_module

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")


def _median_ms(client: TestClient, urls: list[str], repeat: int) -> float:
    times = []
    for url in urls * repeat:
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code in (200, 404), response.text
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="small", choices=["small", "medium", "large"])
    parser.add_argument("--product", default="sr_annual")
    parser.add_argument("--tiles", type=int, default=8, help="most tiles timed per zoom")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir or Path(tempfile.mkdtemp(prefix="sdgcube-bench-")))
    dc = init_index(settings)
    generate_demo(dc, settings.archive_dir, settings.data_dir / "demo", size=args.size)
    cube = Cube(dc, settings)
    start = time.perf_counter()
    build_overviews(cube, args.product)
    print(f"overview of {args.product}: built in {time.perf_counter() - start:.2f} s")

    client = TestClient(create_tiles_app(settings, cube=cube))
    tilejson = client.get(f"/collections/{args.product}/WebMercatorQuad/tilejson.json").json()
    real_choice = reader_module.use_overview
    print(f"{'zoom':>4} {'tiles':>5} {'as served ms':>13} {'datasets only ms':>17}")
    for zoom in range(tilejson["maxzoom"] + 3):
        tiles = list(WEB_MERCATOR.tiles(*tilejson["bounds"], zooms=[zoom]))[: args.tiles]
        urls = [
            f"/collections/{args.product}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png"
            for t in tiles
        ]
        chosen = _median_ms(client, urls, args.repeat)
        reader_module.use_overview = lambda *a, **k: False  # type: ignore[assignment]
        try:
            datasets = _median_ms(client, urls, args.repeat)
        finally:
            reader_module.use_overview = real_choice
        print(f"{zoom:>4} {len(tiles):>5} {chosen:>13.1f} {datasets:>17.1f}")


if __name__ == "__main__":
    main()
