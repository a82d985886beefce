"""An indicator job end to end on Dask with 1 and with 2 workers: wall time, speed-up, peak memory.

Run: ``.venv/bin/python benchmarks/bench_sdg_job.py --process sdg-15-3-1 --size large
[--workers 1,2] [--inputs '{"units_layer": "admin_units"}']``. It makes the demo archive of that
size with ``sdgcube demo-data`` (or reuses ``--data-dir``), then for each worker count starts a
fresh local Dask cluster (processes, one thread each) and runs the job exactly as the server does:
a job row, the fire-and-forget task, the process fanning its work out to the cluster. Peak memory
is the largest resident set of any worker process (``ru_maxrss``). Speed-up = time with 1 worker ÷
time with N.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import uuid
from pathlib import Path

from _common import demo_data_dir
from distributed import Client, LocalCluster

from sdgcube.processes.executor import load_processor, submit_job
from sdgcube.processes.registry import PROCESSES
from sdgcube.processes.services import Services
from sdgcube.settings import Settings


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(settings: Settings, process: str, inputs: dict, workers: int) -> tuple[float, float, str]:
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        run_settings = settings.model_copy(update={"dask_address": cluster.scheduler_address})
        with Client(cluster) as client, Services.build(run_settings) as services:
            client.run(lambda: None)
            job_id = str(uuid.uuid4())
            plan = load_processor(PROCESSES[process]).prepare(inputs, services.cube)
            services.jobs.add(job_id, process, plan.inputs.model_dump(mode="json"))
            start = time.perf_counter()
            submit_job(services, job_id, PROCESSES[process], plan).result()
            elapsed = time.perf_counter() - start
            peak = max(client.run(_peak_rss_mib).values())
            record = services.jobs.get(job_id)
    assert record is not None
    return elapsed, peak, f"{record.status}: {record.message}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--process", default="sdg-15-3-1")
    parser.add_argument("--size", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--inputs", default="{}", help="JSON object of process inputs")
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()

    settings = Settings(data_dir=demo_data_dir(args.data_dir, args.size))
    inputs = json.loads(args.inputs)
    times = {}
    for workers in (int(n) for n in args.workers.split(",")):
        elapsed, peak, outcome = _run(settings, args.process, inputs, workers)
        times[workers] = elapsed
        print(
            f"{args.process} with {workers} worker(s): {elapsed:7.1f} s  peak worker RSS {peak:7.0f} MiB  {outcome}"
        )
    if 1 in times:
        for workers, elapsed in times.items():
            if workers != 1:
                print(f"speed-up 1 → {workers} workers: {times[1] / elapsed:.2f}×")


if __name__ == "__main__":
    main()
