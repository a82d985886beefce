"""How long the ``sdgcube`` command line takes, against the latency goals of issue 8.

Run: ``.venv/bin/python benchmarks/bench_cli.py [--repeat 5] [--skip-job]``.
It writes the small demo archive into a fresh temporary data dir with a fresh numba cache dir (as
after ``make serve`` on a fresh clone), then runs each command ``--repeat`` times after one untimed
run that warms the OS cache, and prints the median, min and max wall time, the median as a ratio to
its goal (below 1.00 meets it), the median CPU time (user + system: less sensitive than wall time
to other work on the machine) and the command's peak RSS. ``python -c pass`` is timed the same way
as the floor no command can go below, and ``python -c "import datacube"`` as the floor of any
command that uses ODC (ingest, the job). Each ingest writes a new 8×8 GeoTIFF (random pixels, so a new
dataset every time). Last, one ``sdgcube run sdg-15-3-1`` in a fresh process: the first job.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from _common import SDGCUBE
from affine import Affine

FIRST_JOB_GOAL_S = 10.0


# A child's peak RSS counts the pages it had before exec, a copy of its parent's: a bare Python
# launches each command and reports its wall time and its ru_maxrss (KiB) from wait4.
_LAUNCHER = """
import os, sys, time
start = time.perf_counter()
quiet = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ, file_actions=quiet)
_, status, usage = os.wait4(pid, 0)
cpu = usage.ru_utime + usage.ru_stime
print(time.perf_counter() - start, cpu, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float
    """User + system time of the command and the children it waited for (pg_ctl; not the server)."""
    rss_mib: float
    """Peak resident set size of the command itself."""


def _timed(argv: list[str], env: dict[str, str]) -> Run:
    """One run of ``argv``; a failure stops the benchmark."""
    with tempfile.TemporaryFile() as stderr:
        done = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, *argv], env=env,
                              stdout=subprocess.PIPE, stderr=stderr, check=True)  # fmt: skip
        elapsed, cpu, rss_kib, code = done.stdout.split()
        if int(code) != 0:
            stderr.seek(0)
            raise SystemExit(f"{' '.join(argv)} failed:\n{stderr.read().decode()}")
    return Run(float(elapsed), float(cpu), int(rss_kib) / 1024)


def _tiny_geotiff(folder: Path, rng: np.random.Generator) -> Path:
    path = folder / f"tiny-{rng.integers(1 << 62)}.tif"
    transform = Affine(30, 0, 600_000, 0, -30, 8_050_000)
    with rasterio.open(path, "w", driver="GTiff", width=8, height=8, count=1, dtype="uint8",
                       crs="EPSG:32760", transform=transform) as dst:  # fmt: skip
        dst.write(rng.integers(0, 255, (1, 8, 8), dtype="uint8"))
    return path


def _report(name: str, goal: float | None, runs: list[Run]) -> None:
    times = [run.wall_s for run in runs]
    median = statistics.median(times)
    versus = f"goal {goal:4.1f} s  ratio {median / goal:5.2f}" if goal else "floor" + " " * 18
    print(
        f"{name:<22} median {median:6.2f} s  min {min(times):6.2f}  max {max(times):6.2f}  "
        f"{versus}  cpu {statistics.median(run.cpu_s for run in runs):5.2f} s  "
        f"peak RSS {max(run.rss_mib for run in runs):4.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-job", action="store_true", help="do not time the first job")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="sdgcube-bench-cli-"))
    env = {**os.environ, "SDGCUBE_DATA_DIR": str(root / "data"),
           "NUMBA_CACHE_DIR": str(root / "numba-cache")}  # fmt: skip
    start = time.perf_counter()
    subprocess.run([SDGCUBE, "demo-data", "--size", "small"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    print(f"demo archive (small) with its set-up in {time.perf_counter() - start:.1f} s at {root}")
    rng = np.random.default_rng()
    commands = {
        "python -c pass": (None, lambda: [sys.executable, "-c", "pass"]),
        "import datacube": (None, lambda: [sys.executable, "-c", "import datacube"]),
        "sdgcube --help": (0.5, lambda: [SDGCUBE, "--help"]),
        "sdgcube products": (1.5, lambda: [SDGCUBE, "products"]),
        "sdgcube ingest (8x8)": (3.0, lambda: [SDGCUBE, "ingest", str(_tiny_geotiff(root, rng)),
                                               "--product", "bench_tiny", "--datetime", "2020-01-01"]),
    }  # fmt: skip
    for name, (goal, argv) in commands.items():
        _timed(argv(), env)
        _report(name, goal, [_timed(argv(), env) for _ in range(args.repeat)])
    if not args.skip_job:
        job = _timed([SDGCUBE, "run", "sdg-15-3-1"], env)
        print(
            f"{'first sdg-15-3-1 job':<22} {job.wall_s:6.2f} s  goal {FIRST_JOB_GOAL_S:4.1f} s  "
            f"ratio {job.wall_s / FIRST_JOB_GOAL_S:5.2f}  cpu {job.cpu_s:5.2f} s  "
            f"peak RSS {job.rss_mib:4.0f} MiB"
        )


if __name__ == "__main__":
    main()
