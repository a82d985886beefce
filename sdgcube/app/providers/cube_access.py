"""One open cube per process and short-lived product summaries, shared by the pygeoapi providers.

pygeoapi instantiates a provider for every request, so anything costly lives here instead: the
index connection (thread-safe connection pool) and summaries cached for a few seconds, which is
as stale as a newly registered result may look.
"""

from __future__ import annotations

import functools
import threading
import time
from pathlib import Path

from sdgcube.datacube.catalog import ProductSummary, summarise_product
from sdgcube.datacube.cube import Cube, open_cube
from sdgcube.settings import Settings

__all__ = ["SUMMARY_TTL_S", "cube_for", "product_summary"]

SUMMARY_TTL_S = 5.0
_lock = threading.Lock()
_summaries: dict[tuple[Path, str], tuple[float, ProductSummary]] = {}


@functools.cache
def _cube(data_dir: Path) -> Cube:
    return open_cube(Settings(data_dir=data_dir))


def cube_for(data_dir: str | Path) -> Cube:
    return _cube(Path(data_dir))


def product_summary(data_dir: str | Path, product: str) -> ProductSummary:
    key = (Path(data_dir), product)
    now = time.monotonic()
    with _lock:
        cached = _summaries.get(key)
    if cached and now - cached[0] < SUMMARY_TTL_S:
        return cached[1]
    summary = summarise_product(cube_for(data_dir), product)
    with _lock:
        _summaries[key] = (now, summary)
    return summary
