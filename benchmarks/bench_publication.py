"""Publication at scale: server start-up and a new product's way to the APIs with many collections.

Run: ``.venv/bin/python benchmarks/bench_publication.py [--products 1000] [--baseline 10]
[--repeat 2] [--data-dir DIR]``. It makes two data dirs under ``--data-dir`` (a temporary folder
if omitted; reused when given, products already there are kept): one holding ``--products``
products of one tiny dataset each, one holding ``--baseline`` such products, all ingested in this
process through ``sdgcube.datacube.ingest``. For each it starts ``sdgcube serve`` on a free port
(``--repeat`` times) and measures:

- start-up: spawn to the first 200 of ``/?f=json``;
- publication: one more product ingested in this process (not timed), then the seconds until
  ``/collections/{name}`` answers 200 and until its layer is in MapProxy's WMS GetCapabilities
  (polled every 0.1 s, from the moment the ingest returned);
- one GetCapabilities request and one ``/collections?f=json`` (answer time, all layers);
- the peak RSS of the server process (sampled every 0.1 s; Dask workers are not counted).

It prints best-of figures for both sizes, the ratios large/baseline and large/goal (start-up < 15 s,
publication < 5 s). Each run leaves its new product in the data dir (named ``new_<time>``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
import psutil
import rasterio
from _common import SDGCUBE, free_port
from affine import Affine

from sdgcube.datacube.index import init_index
from sdgcube.datacube.ingest import IngestRequest, ingest_rasters, inspect_raster
from sdgcube.settings import Settings

START_GOAL_S = 15.0
PUBLISH_GOAL_S = 5.0
BATCH = 50
WHEN = datetime(2020, 6, 1)
WMS_CAPABILITIES = {"SERVICE": "WMS", "REQUEST": "GetCapabilities"}


def _tiny_tiff(folder: Path, name: str) -> Path:
    """An 8×8 float32 raster in one of the 36 × 18 cells of 10° (chosen by the name)."""
    path, index = folder / f"{name}.tif", zlib.crc32(name.encode())
    west, south = -180 + (index % 36) * 10 + 1, -90 + (index // 36 % 18) * 10 + 1
    profile = dict(driver="GTiff", width=8, height=8, count=1, dtype="float32", crs="EPSG:4326",
                   transform=Affine(0.01, 0, west, 0, -0.01, south + 0.08), nodata=-9999.0)  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.full((1, 8, 8), index % 1000, dtype="float32"))
    return path


def ingest_products(settings: Settings, names: list[str]) -> float:
    """Ingest one tiny dataset per product name, ``BATCH`` products per index transaction."""
    sources = settings.data_dir / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    start, dc = time.perf_counter(), init_index(settings)
    try:
        for first in range(0, len(names), BATCH):
            batch = names[first : first + BATCH]
            requests = [
                IngestRequest(inspect_raster(_tiny_tiff(sources, n)), n, WHEN) for n in batch
            ]
            ingest_rasters(dc, settings.archive_dir, requests)
            if len(names) > BATCH:
                print(f"  {first + len(batch)}/{len(names)} products, "
                      f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip
    finally:
        dc.close()
    return time.perf_counter() - start


def make_archive(data_dir: Path, count: int) -> Settings:
    """A data dir with products ``pub_00000`` … of one dataset each (the missing ones made)."""
    settings = Settings(data_dir=data_dir)
    dc = init_index(settings)
    try:
        have = {p.name for p in dc.index.products.get_all()}
    finally:
        dc.close()
    missing = [f"pub_{i:05d}" for i in range(count) if f"pub_{i:05d}" not in have]
    if missing:
        print(f"ingesting {len(missing)} products into {data_dir}", flush=True)
        print(f"  done in {ingest_products(settings, missing):.0f} s", flush=True)
    return settings


class PeakRss:
    """The largest resident set size of a process, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.process, self.peak, self._stop = psutil.Process(pid), 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


@dataclass
class Run:
    start_s: float
    collection_s: float
    wms_s: float
    capabilities_s: float
    collections_s: float
    peak_rss_mib: float


def _wait(client: httpx.Client, started: float, url: str, ok) -> float:
    deadline = started + 300
    while time.perf_counter() < deadline:
        try:
            if ok(client.get(url)):
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready in 300 s")


def _timed_get(client: httpx.Client, url: str, **params: str) -> float:
    start = time.perf_counter()
    response = client.get(url, params=params)
    response.raise_for_status()
    return time.perf_counter() - start


def _stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)


def measure(settings: Settings, port: int) -> Run:
    env = {**os.environ, "SDGCUBE_DATA_DIR": str(settings.data_dir)}
    log = (settings.data_dir / "bench-server.log").open("ab")
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = subprocess.Popen([SDGCUBE, "serve", "--port", str(port)], env=env, stdout=log,
                              stderr=log, start_new_session=True)  # fmt: skip
    rss = PeakRss(server.pid)
    try:
        with httpx.Client(timeout=120) as client:
            start_s = _wait(client, started, f"{base}/?f=json", lambda r: r.status_code == 200)
            name = f"new_{time.time_ns() // 1000}"
            ingest_products(settings, [name])
            ingested = time.perf_counter()
            collection_s = _wait(client, ingested, f"{base}/collections/{name}?f=json",
                                 lambda r: r.status_code == 200)  # fmt: skip
            caps = f"{base}/mapproxy/service?SERVICE=WMS&REQUEST=GetCapabilities"
            wms_s = _wait(client, ingested, caps, lambda r: f"<Name>{name}</Name>" in r.text)
            capabilities_s = _timed_get(client, f"{base}/mapproxy/service", **WMS_CAPABILITIES)
            collections_s = _timed_get(client, f"{base}/collections", f="json")
    finally:
        _stop(server)
        peak = rss.stop()
    return Run(start_s, collection_s, wms_s, capabilities_s, collections_s, peak / 2**20)


def best(runs: list[Run]) -> Run:
    fields = Run.__dataclass_fields__
    return Run(**{f: min(getattr(r, f) for r in runs) for f in fields})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    root = args.data_dir or Path(tempfile.mkdtemp(prefix="sdgcube-bench-pub-"))
    sizes = [args.baseline, args.products]
    archives = {n: make_archive(root / f"n{n}", n) for n in sizes}
    results = {}
    for n in sizes:
        runs = [measure(archives[n], free_port()) for _ in range(args.repeat)]
        for run in runs:
            print(f"  {n} products: {run}", flush=True)
        results[n] = best(runs)
    print(f"best of {args.repeat}       start   /collections/{{id}}   WMS layer   "
          "GetCapabilities   /collections   peak RSS")  # fmt: skip
    for n, r in results.items():
        print(f"{n:5d} products  {r.start_s:6.1f} s  {r.collection_s:10.2f} s  "
              f"{r.wms_s:11.2f} s  {r.capabilities_s:11.2f} s  {r.collections_s:10.2f} s  "
              f"{r.peak_rss_mib:6.0f} MiB")  # fmt: skip
    large, small = results[args.products], results[args.baseline]
    print(f"ratio {args.products}/{args.baseline}: start {large.start_s / small.start_s:.2f}  "
          f"collection {large.collection_s / small.collection_s:.2f}  "
          f"WMS {large.wms_s / small.wms_s:.2f}  RSS {large.peak_rss_mib / small.peak_rss_mib:.2f}")  # fmt: skip
    print(f"ratio to goal ({args.products}): start {large.start_s / START_GOAL_S:.2f}  "
          f"collection {large.collection_s / PUBLISH_GOAL_S:.2f}  "
          f"WMS {large.wms_s / PUBLISH_GOAL_S:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
