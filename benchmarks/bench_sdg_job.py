"""Indicator jobs end to end on Dask with 1 and with 2 workers: wall time, pixel-years per second,
speed-up, peak worker memory, and how peak memory grows from one demo size to the next.

Run: ``.venv/bin/python benchmarks/bench_sdg_job.py --process sdg-15-3-1[,sdg-15-1-1,…] --size
large[,country] [--workers 1,2] [--data-root DIR] [--inputs '{"units_layer": "admin_units"}']``.
Each size's demo archive is ``DIR/<size>`` (made with ``sdgcube demo-data`` if missing). For each
process, size and worker count it starts a fresh local Dask cluster (processes, one thread each)
and runs the job exactly as the server does: a job row, the fire-and-forget task, the process
fanning its work out to the cluster. Peak memory is the largest resident set of any worker process
(``ru_maxrss``: the job's own task runs on a worker too). Pixel-years = pixels of the job's grid ×
years of its first input. Speed-up = time with 1 worker ÷ time with N; memory ratio = peak on a
size ÷ peak on the first size, same process and worker count.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import uuid
from pathlib import Path
from typing import Any

from _common import demo_data_dir
from distributed import Client, LocalCluster

from sdgcube.datacube.demo.generate import SIZES
from sdgcube.processes.executor import load_processor, submit_job
from sdgcube.processes.registry import PROCESSES
from sdgcube.processes.services import Services
from sdgcube.settings import Settings


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pixel_years(services: Services, plan: Any) -> int:
    read = next(iter(plan.reads.values()))
    data = read.load(services.cube, area=plan.region.load_area())
    return int(data.sizes["y"] * data.sizes["x"]) * len(read.years)


def _run(
    settings: Settings, process: str, inputs: dict, workers: int
) -> tuple[float, float, int, str]:
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        run_settings = settings.model_copy(update={"dask_address": cluster.scheduler_address})
        with Client(cluster) as client, Services.build(run_settings) as services:
            client.run(lambda: None)
            job_id = str(uuid.uuid4())
            plan = load_processor(PROCESSES[process]).prepare(inputs, services.cube)
            pixel_years = _pixel_years(services, plan)
            services.jobs.add(job_id, process, plan.inputs.model_dump(mode="json"))
            start = time.perf_counter()
            submit_job(services, job_id, PROCESSES[process], plan).result()
            elapsed = time.perf_counter() - start
            peak = max(client.run(_peak_rss_mib).values())
            record = services.jobs.get(job_id)
    assert record is not None
    return elapsed, peak, pixel_years, f"{record.status}: {record.message}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--process", default="sdg-15-3-1", help="process ids, comma-separated")
    parser.add_argument(
        "--size", default="large", help=f"demo sizes, comma-separated ({', '.join(SIZES)})"
    )
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--inputs", default="{}", help="JSON object of process inputs")
    parser.add_argument("--data-root", type=Path, default=Path("/tmp/sdgcube-bench"))
    args = parser.parse_args()

    inputs = json.loads(args.inputs)
    for process in args.process.split(","):
        times: dict[tuple[str, int], float] = {}
        peaks: dict[tuple[str, int], float] = {}
        for size in args.size.split(","):
            settings = Settings(data_dir=demo_data_dir(args.data_root / size, size))
            for workers in (int(n) for n in args.workers.split(",")):
                elapsed, peak, pixel_years, outcome = _run(settings, process, inputs, workers)
                times[size, workers], peaks[size, workers] = elapsed, peak
                print(f"{process} {size:8} {workers} worker(s): {elapsed:7.1f} s  {pixel_years / elapsed / 1e6:7.2f} M "
                      f"pixel-years/s  peak worker RSS {peak:6.0f} MiB  {outcome}", flush=True)  # fmt: skip
                if (size, 1) in times and workers != 1:
                    print(f"  speed-up 1 → {workers} workers: {times[size, 1] / elapsed:.2f}×")
        first = args.size.split(",")[0]
        for (size, workers), peak in peaks.items():
            if size != first and (first, workers) in peaks:
                print(
                    f"  peak memory {size} ÷ {first} ({workers} worker(s)): {peak / peaks[first, workers]:.2f}"
                )


if __name__ == "__main__":
    main()
