"""Fair latency under load: many XYZ clients (TiTiler) and WMS clients (MapProxy) at the same time.

Run: ``.venv/bin/python benchmarks/bench_load.py [--workers 1|2] [--seconds 60] [--clients 32]
[--baseline-seconds 15] [--size small] [--data-dir DIR]``. It makes the demo archive with
``sdgcube demo-data`` in a temporary data dir (or reuses ``--data-dir``), starts ``sdgcube serve
--workers W`` on a free port and measures, for ``sr_annual`` with its default rendering:

- baseline: one XYZ client alone, then one WMS client alone, ``--baseline-seconds`` each;
- load: ``--clients`` XYZ clients alone, ``--clients`` WMS clients alone, then both together, for
  ``--seconds`` each.

An XYZ request is a random Web Mercator tile of the scene at ``--zooms`` for a random year
(``/tiles/collections/sr_annual/tiles/WebMercatorQuad/{z}/{x}/{y}.png?datetime=YYYY``). A WMS request
is a GetMap of 256 × 256 px in EPSG:3857 at the resolution of one of those zooms, at a random
position inside the scene and a random ``TIME``, so MapProxy mostly has to fetch its one to four
grid tiles from the renderer: its on-disk cache is emptied before each phase, and the cache hit rate
a phase could have had is estimated from the grid tiles its requests needed. A response is an error unless
it is 200 with an image. Each kind prints requests, errors, throughput, p50, p99, p99/p50 and the
spread of requests per client; then throughput under load ÷ one-client throughput (for the mixed
phase per kind and summed: the work done in one-client units), and the peak
RSS of the server's process tree (web workers, Dask workers, PostgreSQL).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import morecantile
import psutil
from _common import SDGCUBE, demo_data_dir

from sdgcube.datacube.cube import open_cube
from sdgcube.settings import Settings

PRODUCT = "sr_annual"
WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
HALF_WORLD = math.pi * 6378137.0
TILE_PX = 256
INSET = 0.1

Request = tuple[str, dict[str, str], frozenset[tuple[str, int, int, int]]]
"""Path, query, and the MapProxy tiles it needs (none for XYZ)."""


@dataclass(frozen=True)
class Scene:
    bounds: tuple[float, float, float, float]  # EPSG:3857
    tiles: dict[int, list[morecantile.Tile]]
    dates: list[str]


@dataclass
class Tally:
    """What the clients of one kind saw in one phase."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    per_client: list[int] = field(default_factory=list)
    tiles_needed: int = 0
    tiles_seen: set[tuple[str, int, int, int]] = field(default_factory=set)
    tiles_cached: int = 0
    wall: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _inset(box, fraction: float = INSET) -> tuple[float, float, float, float]:
    dx, dy = (box.right - box.left) * fraction, (box.top - box.bottom) * fraction
    return box.left + dx, box.bottom + dy, box.right - dx, box.top - dy


def _scene(settings: Settings, zooms: list[int]) -> Scene:
    """Inset from the footprint's bounding box, whose corners lie outside the (rotated) footprint:
    every request has data under it."""
    with open_cube(settings) as cube:
        datasets = cube.datasets(PRODUCT)
        dates = sorted({d.center_time.date().isoformat() for d in datasets})
    extent = datasets[-1].extent
    lon_lat = _inset(extent.to_crs("EPSG:4326").boundingbox)
    tiles = {z: list(WEB_MERCATOR.tiles(*lon_lat, zooms=[z])) for z in zooms}
    return Scene(_inset(extent.to_crs("EPSG:3857").boundingbox), tiles, dates)


def xyz_request(rng: random.Random, scene: Scene) -> Request:
    tile = rng.choice(scene.tiles[rng.choice(list(scene.tiles))])
    path = f"/tiles/collections/{PRODUCT}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png"
    return path, {"datetime": rng.choice(scene.dates)[:4]}, frozenset()


def wms_request(rng: random.Random, scene: Scene) -> Request:
    """A one-tile GetMap at a random offset: it needs one to four grid tiles of its zoom."""
    zoom, date = rng.choice(list(scene.tiles)), rng.choice(scene.dates)
    size = 2 * HALF_WORLD / 2**zoom
    left, bottom, right, top = scene.bounds
    minx = rng.uniform(left, max(left, right - size))
    miny = rng.uniform(bottom, max(bottom, top - size))
    columns = {math.floor((x + HALF_WORLD) / size) for x in (minx, minx + size * 0.999)}
    rows = {math.floor((HALF_WORLD - y) / size) for y in (miny + size * 0.001, miny + size)}
    tiles = frozenset((date, zoom, c, r) for c in columns for r in rows)
    query = {"SERVICE": "WMS", "VERSION": "1.1.1", "REQUEST": "GetMap", "LAYERS": PRODUCT,
             "STYLES": "", "SRS": "EPSG:3857", "BBOX": f"{minx},{miny},{minx + size},{miny + size}",
             "WIDTH": str(TILE_PX), "HEIGHT": str(TILE_PX), "FORMAT": "image/png",
             "TRANSPARENT": "TRUE", "TIME": date}  # fmt: skip
    return "/mapproxy/service", query, tiles


def _record(tally: Tally, response: httpx.Response | None, error: str, tiles) -> None:
    if response is not None and response.status_code == 200:
        if response.headers.get("content-type", "").startswith("image/"):
            error = ""
        else:
            error = f"200 {response.headers.get('content-type')}: {response.text[:200]}"
    elif response is not None:
        error = f"{response.status_code}: {response.text[:200]}"
    with tally.lock:
        if error:
            tally.errors.append(error)
        tally.tiles_needed += len(tiles)
        tally.tiles_cached += len(tiles & tally.tiles_seen)
        tally.tiles_seen |= tiles


def _client(base: str, make: Callable[[random.Random], Request], seed: int, deadline: float,
            tally: Tally) -> None:  # fmt: skip
    rng, count = random.Random(seed), 0
    with httpx.Client(base_url=base, timeout=120) as client:
        while time.monotonic() < deadline:
            path, query, tiles = make(rng)
            response, error, begin = None, "", time.perf_counter()
            try:
                response = client.get(path, params=query)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            tally.latencies.append(time.perf_counter() - begin)
            _record(tally, response, error, tiles)
            count += 1
    tally.per_client.append(count)


def run_phase(base: str, kinds: dict[str, tuple[Callable[[random.Random], Request], int]],
              seconds: float, seed: int) -> dict[str, Tally]:  # fmt: skip
    """Every kind's clients at once until ``seconds`` have passed; wall time includes stragglers."""
    tallies = {name: Tally() for name in kinds}
    threads: dict[str, list[threading.Thread]] = {name: [] for name in kinds}
    deadline = time.monotonic() + seconds
    start = time.perf_counter()
    for name, (make, clients) in kinds.items():
        for i in range(clients):
            args = (base, make, seed * 1000 + i + 500 * (name == "WMS"), deadline, tallies[name])
            threads[name].append(threading.Thread(target=_client, args=args, daemon=True))
    for thread in (t for group in threads.values() for t in group):
        thread.start()
    for name, group in threads.items():
        for thread in group:
            thread.join()
        tallies[name].wall = time.perf_counter() - start
    return tallies


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def describe(label: str, tally: Tally) -> str:
    ms = [t * 1000 for t in tally.latencies]
    p50, p99 = statistics.median(ms), _percentile(ms, 0.99)
    line = (f"{label:<16} {len(ms):5d} req  {len(tally.errors):3d} err  "
            f"{len(ms) / tally.wall:6.2f} req/s  p50 {p50:7.0f} ms  p99 {p99:7.0f} ms  "
            f"p99/p50 {p99 / p50:5.2f}  max {max(ms):7.0f} ms  "
            f"per client {min(tally.per_client)}-{max(tally.per_client)}")  # fmt: skip
    if tally.tiles_needed:
        line += f"  est. cache hits {tally.tiles_cached / tally.tiles_needed:4.0%}"
    return line


class PeakRss:
    """Samples the summed RSS of a process and its descendants in a background thread."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.root, self.interval, self.peak, self.peak_single = psutil.Process(pid), interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            sizes = []
            for proc in [self.root, *self.root.children(recursive=True)]:
                try:
                    sizes.append(proc.memory_info().rss)
                except psutil.Error:
                    continue
            self.peak = max(self.peak, sum(sizes))
            self.peak_single = max([self.peak_single, *sizes])

    def stop(self) -> str:
        self._stop.set()
        self._thread.join()
        return (f"peak RSS of the server's processes: {self.peak / 2**20:.0f} MiB in all, "
                f"largest process {self.peak_single / 2**20:.0f} MiB")  # fmt: skip


def _wait_ready(base: str, scene: Scene) -> None:
    """Up, MapProxy layer published, and each kind answered once (imports, first opens)."""
    rng = random.Random(0)
    with httpx.Client(base_url=base, timeout=120) as client:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                path, query, _ = wms_request(rng, scene)
                if client.get(path, params=query).headers.get("content-type") == "image/png":
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit("the server did not answer a GetMap within 300 s")
        for _ in range(10):
            for make in (xyz_request, wms_request):
                path, query, _ = make(rng, scene)
                client.get(path, params=query)


def _empty_mapproxy_cache(data_dir: Path) -> None:
    shutil.rmtree(data_dir / "cache" / "mapproxy" / PRODUCT, ignore_errors=True)


def _throughput(tally: Tally) -> float:
    return len(tally.latencies) / tally.wall


def _load_phase(base: str, data_dir: Path, kinds: dict, seconds: float, clients: int) -> dict:
    _empty_mapproxy_cache(data_dir)
    under = run_phase(
        base, {name: (make, clients) for name, make in kinds.items()}, seconds, seed=2
    )
    for name, tally in under.items():
        print(describe(f"{name}, {clients} clients" + (" + the other kind" if len(kinds) > 1 else ""),
                       tally), flush=True)  # fmt: skip
    return under


def measure(base: str, scene: Scene, data_dir: Path, args: argparse.Namespace) -> None:
    kinds = {"XYZ": lambda rng: xyz_request(rng, scene), "WMS": lambda rng: wms_request(rng, scene)}
    alone = {}
    for name, make in kinds.items():
        _empty_mapproxy_cache(data_dir)
        alone[name] = run_phase(base, {name: (make, 1)}, args.baseline_seconds, seed=1)[name]
        print(describe(f"{name}, 1 client", alone[name]), flush=True)
    phases = [{name: make} for name, make in kinds.items()] + [kinds]
    results = [_load_phase(base, data_dir, kinds_, args.seconds, args.clients) for kinds_ in phases]
    for name in kinds:
        ratio = _throughput(results[list(kinds).index(name)][name]) / _throughput(alone[name])
        print(f"{name} alone: throughput of {args.clients} clients / one client: {ratio:.2f}")
    shares = {
        name: _throughput(tally) / _throughput(alone[name]) for name, tally in results[-1].items()
    }
    print("both kinds together: throughput / one client: "
          + ", ".join(f"{name} {share:.2f}" for name, share in shares.items())
          + f"; sum {sum(shares.values()):.2f} (the work done, in one-client units)")  # fmt: skip
    errors = {e for tally in [*alone.values(), *(t for r in results for t in r.values())]
              for e in tally.errors}  # fmt: skip
    for error in sorted(errors)[:5]:
        print(f"error: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="small", choices=["small", "medium", "large"])
    parser.add_argument("--zooms", default="14,15,16,17,18")
    parser.add_argument("--workers", type=int, default=1, choices=[1, 2], help="uvicorn workers")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load phase")
    parser.add_argument("--baseline-seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=32, help="clients of each kind")
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()

    data_dir = demo_data_dir(args.data_dir, args.size)
    scene = _scene(Settings(data_dir=data_dir), [int(z) for z in args.zooms.split(",")])
    print(f"{args.workers} web worker(s), {os.cpu_count()} cores, {args.clients} + "
          f"{args.clients} clients for {args.seconds:g} s, zooms {list(scene.tiles)}, "
          f"{len(scene.dates)} dates, {data_dir} ({args.size})")  # fmt: skip
    port = _free_port()
    server = subprocess.Popen(
        [SDGCUBE, "serve", "--port", str(port), "--workers", str(args.workers)],
        env={**os.environ, "SDGCUBE_DATA_DIR": str(data_dir)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    rss = PeakRss(server.pid)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, scene)
        measure(base, scene, data_dir, args)
    finally:
        print(rss.stop())
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)


if __name__ == "__main__":
    main()
