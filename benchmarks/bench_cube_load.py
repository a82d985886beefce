"""How much ``Cube.load`` (ODC + dask) costs over reading the same COGs directly with rasterio.

Run: ``.venv/bin/python benchmarks/bench_cube_load.py [--size small|medium|large] [--repeat 3]``.
It builds the demo archive of that size in a temporary data dir (or reuses ``--data-dir``), then
loads every annual ``red`` and ``nir08`` band both ways, checks the pixels are identical, and prints
the pixels per second of each and their ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from _common import best_of

from sdgcube.datacube.cube import open_cube
from sdgcube.datacube.demo import generate_demo
from sdgcube.datacube.index import init_index
from sdgcube.settings import Settings

BANDS = ("red", "nir08")


def _direct(paths: list[Path]) -> np.ndarray:
    arrays = []
    for path in paths:
        with rasterio.open(path) as src:
            arrays.append(src.read(1))
    return np.stack(arrays)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="small", choices=["small", "medium", "large"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="sdgcube-bench-"))
    settings = Settings(data_dir=data_dir)
    start = time.perf_counter()
    generate_demo(
        init_index(settings), settings.archive_dir, data_dir / "demo", size=args.size, seed=1
    )
    print(f"demo archive ({args.size}) ready in {time.perf_counter() - start:.1f} s")
    cube = open_cube(settings)
    datasets = cube.datasets("sr_annual")
    for band in BANDS:
        paths = [Path(ds.uri.removeprefix("file://")).parent / f"{band}.tif" for ds in datasets]
        t_cube, loaded = best_of(
            lambda b=band: cube.load("sr_annual", measurements=[b])[b].values, args.repeat
        )
        t_direct, direct = best_of(lambda p=paths: _direct(p), args.repeat)
        assert np.array_equal(loaded, direct), "cube.load and rasterio disagree"
        pixels = direct.size
        print(
            f"{band}: {pixels / 1e6:.1f} Mpx  cube.load {pixels / t_cube / 1e6:.1f} Mpx/s  "
            f"rasterio {pixels / t_direct / 1e6:.1f} Mpx/s  ratio cube/rasterio {t_direct / t_cube:.2f}"
        )


if __name__ == "__main__":
    main()
