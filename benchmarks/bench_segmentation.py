"""Building-segmentation inference throughput end to end: read → infer → blend → write.

Run: ``.venv/bin/python benchmarks/bench_segmentation.py [--chips 64] [--model deeplabv3plus-r18]
[--device auto|cpu|cuda] [--threads N] [--data-dir DIR]``. It builds the demo archive with
``sdgcube demo-data --size small --chips N`` in a temporary data dir (or reuses ``--data-dir``; not
timed): N 256-px chips of 0.5 m ``hires_rgb`` (red, green, blue) tiling a square. For each model
(random weights: speed does not depend on them) it runs what the building-segmentation process
runs (``_segment``): ``Segmenter.probability`` over the chips' block, reading with
``CubeBlockReader`` and writing every block to a mask and a probability GeoTIFF with two
``RasterBlockWriter``\\ s. First over a quarter of the block, then over all of it: the peak memory
must not grow with the area, since windows are streamed.

Peak memory: the process's resident set (psutil, sampled every 5 ms in a thread; torch's
allocations escape tracemalloc) during a run, minus the resident set just before that run; and the
absolute peak. A small untimed run first warms torch, GDAL and the index connection.

Baselines, measured in the same run or cited:
(a) forward only: the network alone on the full run's windows in whole batches (no padding), from
    random tensors already on the device — the upper bound; ratio = end-to-end / forward-only. The
    end-to-end run pads each row of windows of a strip to whole batches: on small areas that padding
    is part of what the ratio shows (the fill of the batches is printed).
(b) the seed's figure, 1.5 Mpx/s per GPU: "220,000 km² of 2 m imagery in 2.5 h on 4 GPUs"
    (2.2e11 m² / 4 m² per pixel / 9,000 s / 4 GPUs = 1.53e6 px/s); ratio = end-to-end / 1.5 Mpx/s.
Goals: ≥ 1 Mpx/s on CPU for DeepLabV3+/ResNet-18 at 0.5 m; ≥ 50 Mpx/s on one H100/H200.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import psutil
import rasterio
import torch
from _common import SDGCUBE
from datacube.model import Dataset
from shapely.geometry import mapping
from shapely.ops import unary_union

from sdgcube.datacube.cube import Cube, NativeGrid, open_cube
from sdgcube.models.architectures import build_network
from sdgcube.models.card import ModelCard, Normalisation
from sdgcube.models.checkpoint import LoadedModel
from sdgcube.models.inference import BlockReader, Segmenter, default_window
from sdgcube.models.pixel_grid import PixelGrid
from sdgcube.models.spec import NetworkSpec
from sdgcube.models.training import forward_probability
from sdgcube.models.windows import Area
from sdgcube.processes._segmentation_io import NODATA, CubeBlockReader, classified_blocks
from sdgcube.processes.blockwise import create_tiled
from sdgcube.settings import Settings

PRODUCT, BANDS, CHIP_SIZE = "hires_rgb", ("red", "green", "blue"), 256
SEED_PX_PER_S = 1.5e6
"""Per GPU: "220,000 km² of 2 m imagery in 2.5 h on 4 GPUs" (the seed's figure)."""
GOAL_CPU_PX_PER_S, GOAL_GPU_PX_PER_S = 1e6, 50e6
MODELS = {
    "deeplabv3plus-r18": NetworkSpec("deeplabv3plus", "resnet18", 3),
    "unet-r18-d4-c8": NetworkSpec("unet", "resnet18", 3, encoder_depth=4, decoder_channels=8),
    "deeplabv3plus-r18-d4-c64": NetworkSpec(
        "deeplabv3plus", "resnet18", 3, encoder_depth=4, decoder_channels=64
    ),
}
MIB = 2**20


class PeakRss:
    """The largest resident set of this process while the block runs, sampled in a thread."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self._process, self._interval = psutil.Process(), interval_s
        self._stop = threading.Event()
        self.before = self.peak = 0

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> Self:
        self.before = self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


@dataclass(frozen=True)
class Block:
    """What the runs share: the cube, the product's pixel grid, the chips' outline and block."""

    cube: Cube
    grid: PixelGrid
    region: list[dict[str, object]]
    area: Area
    datasets: list[Dataset]


@dataclass(frozen=True)
class Run:
    area: Area
    seconds: float
    windows: int
    batches: int
    rss_delta: int
    rss_peak: int

    @property
    def px_per_s(self) -> float:
        return self.area.rows * self.area.cols / self.seconds


def demo_archive(data_dir: Path | None, chips: int) -> Path:
    """A data dir holding a demo archive of ``chips`` building chips, made if missing."""
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="sdgcube-bench-seg-"))
    if not (data_dir / "demo" / "truth.json").exists():
        start = time.perf_counter()
        subprocess.run([SDGCUBE, "demo-data", "--size", "small", "--chips", str(chips),
                        "--data-dir", str(data_dir)], check=True, capture_output=True)  # fmt: skip
        print(f"demo archive ({chips} chips) in {time.perf_counter() - start:.0f} s at {data_dir}")
    return data_dir


def chip_block(settings: Settings) -> Block:
    cube = open_cube(settings)
    datasets = cube.datasets(PRODUCT)
    grid = PixelGrid.of(NativeGrid.of(datasets))
    outline = unary_union([ds.extent.to_crs(grid.crs).geom for ds in datasets])
    return Block(cube, grid, [mapping(outline)], grid.area_of(outline), list(datasets))


def loaded_model(name: str, spec: NetworkSpec, device: torch.device) -> LoadedModel:
    network = build_network(spec).float().eval().to(device).to(memory_format=torch.channels_last)
    card = ModelCard(
        id=f"bench-{name}", title=f"benchmark {name} (random weights)",
        architecture=spec.architecture, encoder=spec.encoder, encoder_depth=spec.encoder_depth,
        decoder_channels=spec.decoder_channels, bands=BANDS,
        normalisation=Normalisation(mean=(120.0,) * 3, std=(40.0,) * 3), chip_size=CHIP_SIZE,
        resolution_m=0.5, total_parameters=sum(p.numel() for p in network.parameters()),
        created=datetime.now(UTC),
    )  # fmt: skip
    return LoadedModel(card, network)


def _write_blocks(segmenter: Segmenter, block: Block, area: Area, read: BlockReader, out: Path) -> None:  # fmt: skip
    """``_segment``'s loop: every classified block into the mask and the probability raster."""
    geobox = block.grid.geobox(area)
    mask = create_tiled(out / "mask.tif", geobox, ["building"], dtype="uint8", nodata=NODATA)
    probability = create_tiled(out / "probability.tif", geobox, ["probability"], dtype="uint8", nodata=NODATA)  # fmt: skip
    threshold = segmenter.model.card.threshold
    for part in classified_blocks(segmenter, area, read, block.grid, block.region, threshold):
        top, left = part.area.row - area.row, part.area.col - area.col
        mask.write(part.mask[None], top, left)
        probability.write(part.percent[None], top, left)


def end_to_end(segmenter: Segmenter, block: Block, area: Area) -> Run:
    read = CubeBlockReader(block.cube, PRODUCT, BANDS, block.grid, block.datasets)
    windows, batches = [0], [0]

    def count(_module: object, args: tuple[torch.Tensor, ...], _output: object) -> None:
        batches[0] += 1  # a padded slot is all zeros: a window of real data never is
        windows[0] += int((args[0].flatten(1).abs().sum(1) > 0).sum())

    hook = segmenter.model.network.register_forward_hook(count)
    out = Path(tempfile.mkdtemp(prefix="sdgcube-bench-seg-out-"))
    try:
        with PeakRss() as rss:
            start = time.perf_counter()
            _write_blocks(segmenter, block, area, read, out)
            seconds = time.perf_counter() - start
        with rasterio.open(out / "probability.tif") as src:  # the chips tile the block: all valid
            valid = float((src.read(1) != NODATA).mean())
        assert valid > 0.99, f"only {valid:.1%} of {area} was segmented: nothing read?"
    finally:
        hook.remove()
        shutil.rmtree(out, ignore_errors=True)
    return Run(area, seconds, windows[0], batches[0], rss.peak - rss.before, rss.peak)


def forward_only(segmenter: Segmenter, batches: int) -> float:
    """Seconds for ``batches`` forward passes of random windows already on the device, through
    ``forward_probability`` (the inference's precision and layout)."""
    device, size = segmenter.device, segmenter.grid.size
    images = torch.randn(segmenter.batch_size, len(BANDS), size, size, generator=torch.Generator().manual_seed(0))  # fmt: skip
    images = images.to(device).contiguous(memory_format=torch.channels_last)
    forward_probability(segmenter.model.network, images)  # warm: first-call setup
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(batches):
        forward_probability(segmenter.model.network, images)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _row(name: str, label: str, run: Run) -> str:
    return (f"{name:<25} {label:<8} {run.area.rows:>5}×{run.area.cols:<5} {run.windows:>5} {run.batches:>4} "
            f"{run.seconds:>8.1f} {run.px_per_s / 1e6:>7.2f} {run.rss_delta / MIB:>8.0f} {run.rss_peak / MIB:>8.0f}")  # fmt: skip


def _notes(name: str, segmenter: Segmenter, quarter: Run, full: Run, forward_s: float) -> list[str]:  # fmt: skip
    """Ratios against both baselines, the goal, and whether memory stayed flat."""
    device = segmenter.device
    forward = full.area.rows * full.area.cols / forward_s
    goal = GOAL_GPU_PX_PER_S if device.type == "cuda" else GOAL_CPU_PX_PER_S
    growth = full.rss_peak - quarter.rss_peak
    flat = growth <= max(32 * MIB, quarter.rss_delta // 10)  # noise: sampling, allocator arenas
    areas = full.area.rows * full.area.cols / (quarter.area.rows * quarter.area.cols)
    lines = [
        (f"{name}: forward only {forward_s:.1f} s = {forward / 1e6:.2f} Mpx/s of area "
         f"({full.windows} windows in {-(-full.windows // segmenter.batch_size)} full batches of {segmenter.batch_size}); "
         f"ratio end-to-end/forward-only {full.px_per_s / forward:.2f}"),
        (f"{name}: end to end computed {full.batches} batches, {full.windows / (full.batches * segmenter.batch_size):.0%} "
         "of their slots real windows (the Segmenter pads each row of windows of a strip to whole batches)"),
        (f"{name}: ratio end-to-end/seed (1.5 Mpx/s per GPU) {full.px_per_s / SEED_PX_PER_S:.2f}; "
         f"goal >= {goal / 1e6:.0f} Mpx/s on {device.type}: {'met' if full.px_per_s >= goal else 'NOT met'}"),
        (f"{name}: peak RSS quarter {quarter.rss_peak / MIB:.0f} MiB, full {full.rss_peak / MIB:.0f} MiB "
         f"(area x{areas:.1f}, peak {growth / MIB:+.0f} MiB): {'flat' if flat else 'GROWS with the area'}"),
    ]  # fmt: skip
    if device.type == "cuda":
        lines.append(f"{name}: peak CUDA memory allocated {torch.cuda.max_memory_allocated() / MIB:.0f} MiB")  # fmt: skip
    return lines


def bench_model(name: str, block: Block, device: torch.device) -> tuple[list[str], list[str]]:
    """The table rows of one model and the lines of its ratios."""
    batch_size = 16 if device.type == "cuda" else 1  # as _segment chooses
    segmenter = Segmenter(loaded_model(name, MODELS[name], device), default_window(CHIP_SIZE), device, batch_size=batch_size)  # fmt: skip
    area = block.area
    end_to_end(segmenter, block, Area(area.row, area.col, 64, 64))  # warm-up, not reported
    quarter = end_to_end(segmenter, block, Area(area.row, area.col, area.rows // 2, area.cols // 2))  # fmt: skip
    full = end_to_end(segmenter, block, area)
    forward_s = forward_only(segmenter, -(-full.windows // batch_size))  # same windows, no padding
    rows = [_row(name, "quarter", quarter), _row(name, "full", full)]
    return rows, _notes(name, segmenter, quarter, full, forward_s)


def _device(name: str) -> torch.device | None:
    """The device ``--device`` names; None when it asks for CUDA and there is none."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return None if name == "cuda" and not torch.cuda.is_available() else torch.device(name)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chips", type=int, default=64, help="demo chips (64: 2048² px)")
    parser.add_argument("--model", default="deeplabv3plus-r18",
                        help=f"comma-separated, or 'all': {', '.join(MODELS)}")  # fmt: skip
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    names = list(MODELS) if args.model == "all" else args.model.split(",")
    if unknown := [n for n in names if n not in MODELS]:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    device = _device(args.device)
    if device is None:
        print("--device cuda: no CUDA device is available here; skipping")
        return
    torch.set_num_threads(args.threads)
    block = chip_block(Settings(data_dir=demo_archive(args.data_dir, args.chips)))
    gpu = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
    print(f"{len(block.datasets)} chips, block {block.area.rows}×{block.area.cols} px, window "
          f"{default_window(CHIP_SIZE)}, device {device}{gpu}, {torch.get_num_threads()} threads")  # fmt: skip
    rows, notes = [], []
    for name in names:
        model_rows, model_notes = bench_model(name, block, device)
        rows += model_rows
        notes += model_notes
    print(f"{'model':<25} {'area':<8} {'rows×cols':^11} {'wins':>5} {'btch':>4} {'wall s':>8} "
          f"{'Mpx/s':>7} {'ΔRSS MiB':>8} {'peak MiB':>8}")  # fmt: skip
    print("\n".join(rows + notes))


if __name__ == "__main__":
    main()
