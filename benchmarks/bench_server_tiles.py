"""Map tiles through the whole server against reading the same tiles in-process with rio-tiler.

Run: ``.venv/bin/python benchmarks/bench_server_tiles.py [--size small|medium] [--workers 1]
[--concurrency 8]``. It makes the demo archive with ``sdgcube demo-data`` in a temporary data dir
(or reuses ``--data-dir``), starts ``sdgcube serve`` on a free port and requests every Web Mercator
tile of the scene at ``--zooms`` for ``sr_annual`` (latest year, red/green/blue, rescale 0–2500, PNG):

- baseline: the same tiles read in this process with rio-tiler from the product's COGs (one
  ``Reader`` per band file, rescaled and rendered to PNG), one at a time;
- server, one client: the same tiles over HTTP one at a time (latency comparable with the baseline);
- server, N clients: the same tiles from ``--concurrency`` threads (throughput).

It prints tiles/s, p50 and p99 latency for each, and the ratios server/baseline. A first pass
through the server warms its per-process caches (index lookups, overviews) and is not timed;
MapProxy is not involved, these are TiTiler routes.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import signal
import statistics
import subprocess
import time
from pathlib import Path

import httpx
import morecantile
import numpy as np
from _common import SDGCUBE, demo_data_dir, free_port
from rio_tiler.io import Reader
from rio_tiler.models import ImageData

from sdgcube.datacube.cube import open_cube
from sdgcube.settings import Settings

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
BANDS = ("red", "green", "blue")
RESCALE = (0, 2500)


def _local(folder: Path, path: str) -> str:
    """A measurement path as a file name: eo3 paths are absolute file URIs or relative to the item."""
    return path.removeprefix("file://") if path.startswith("file://") else str(folder / path)


def _stats(latencies: list[float], wall: float) -> str:
    ms = sorted(t * 1000 for t in latencies)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return f"{len(ms) / wall:7.1f} tiles/s  p50 {statistics.median(ms):6.1f} ms  p99 {p99:6.1f} ms"


def _baseline_tile(paths: dict[str, list[str]], tile: morecantile.Tile) -> bytes | None:
    """Mosaic-free read: the latest slice of the demo is one dataset per band."""
    bands = []
    for band in BANDS:
        for path in paths[band]:
            with Reader(path) as cog:
                if not cog.tile_exists(tile.x, tile.y, tile.z):
                    continue
                bands.append(cog.tile(tile.x, tile.y, tile.z))
                break
    if len(bands) != len(BANDS):
        return None
    image = ImageData.create_from_list(bands)
    image.rescale(in_range=(RESCALE,) * len(BANDS))
    return image.render(img_format="PNG")


def _time_serial(fetch, tiles) -> tuple[list[float], float]:
    latencies, start = [], time.perf_counter()
    for tile in tiles:
        begin = time.perf_counter()
        fetch(tile)
        latencies.append(time.perf_counter() - begin)
    return latencies, time.perf_counter() - start


def _time_concurrent(fetch, tiles, concurrency: int) -> tuple[list[float], float]:
    def timed(tile: morecantile.Tile) -> float:
        begin = time.perf_counter()
        fetch(tile)
        return time.perf_counter() - begin

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(timed, tiles))
    return latencies, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="small", choices=["small", "medium", "large"])
    parser.add_argument("--zooms", default="13,14,15")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()

    data_dir = demo_data_dir(args.data_dir, args.size)
    env = {**os.environ, "SDGCUBE_DATA_DIR": str(data_dir)}
    settings = Settings(data_dir=data_dir)
    with open_cube(settings) as cube:
        latest = cube.datasets("sr_annual")[-1]
        folder = Path(latest.uri.removeprefix("file://")).parent
        paths = {band: [_local(folder, latest.measurements[band]["path"])] for band in BANDS}
        bounds = latest.extent.to_crs("EPSG:4326").boundingbox
    zooms = [int(z) for z in args.zooms.split(",")]
    tiles = [t for z in zooms for t in WEB_MERCATOR.tiles(*bounds, zooms=[z])]
    print(f"{len(tiles)} tiles at zooms {zooms} over {data_dir} ({args.size})")

    port = free_port()
    server = subprocess.Popen(
        [SDGCUBE, "serve", "--port", str(port), "--workers", str(args.workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/tiles/collections/sr_annual/tiles/WebMercatorQuad"
    query = {"bands": ",".join(BANDS), "rescale": f"{RESCALE[0]},{RESCALE[1]}"}
    try:
        with httpx.Client(
            timeout=120, limits=httpx.Limits(max_connections=args.concurrency)
        ) as client:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                try:
                    if client.get(f"http://127.0.0.1:{port}/?f=json").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)

            def served(tile: morecantile.Tile) -> None:
                response = client.get(f"{url}/{tile.z}/{tile.x}/{tile.y}.png", params=query)
                assert response.status_code in (200, 404), response.text

            for tile in tiles:
                served(tile)
            base, base_wall = _time_serial(lambda t: _baseline_tile(paths, t), tiles)
            one, one_wall = _time_serial(served, tiles)
            many, many_wall = _time_concurrent(served, tiles, args.concurrency)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)

    print(f"in-process rio-tiler, 1 thread  : {_stats(base, base_wall)}")
    print(f"server, 1 client                : {_stats(one, one_wall)}")
    print(
        f"server, {args.concurrency} clients{' ' * (17 - len(str(args.concurrency)))}: {_stats(many, many_wall)}"
    )
    print(f"ratio server/in-process, 1 client  (tiles/s): {base_wall / one_wall:.2f}")
    print(
        f"ratio server/in-process, {args.concurrency} clients (tiles/s): {base_wall / many_wall:.2f}"
    )
    print(f"median latency server/in-process: {np.median(one) / np.median(base):.2f}")


if __name__ == "__main__":
    main()
