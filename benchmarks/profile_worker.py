"""What a worker's CPU per run is made of: our task's own work, and Dask's per task.

Runs ``--tasks`` batches of ``--batch`` runs of the stand-in (~2.5 ms a run) through
``run_batch``, the Dask task of every sweep, twice: called in this process (no Dask: the
task's own work, receiving the engine's answers and writing the batch's files and commit
record), then submitted as tasks to a warm 1-worker process LocalCluster. Prints the CPU
milliseconds per run of the calling process (engine hosts not counted) for each,
``--repeats`` times, and what the worker spends per task beyond the median of the runs in
this process: Dask's cost of one task to a worker.

    python benchmarks/profile_worker.py [--tasks 15] [--batch 13] [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STANDIN = REPO / "tests" / "gmat_standin" / "root"
SCRIPT = REPO / "tests" / "gmat_standin" / "scripts" / "leo_faults.script"


def batches(sweep_dir: Path, first: int, tasks: int, size: int) -> list:
    """``tasks`` batches of ``size`` runs each, run ids from ``first``."""
    from gmat_sweep_dask.execute.task import Batch, batch_key

    out = []
    for start in range(first, first + tasks * size, size):
        ids = tuple(range(start, start + size))
        overrides = tuple({"Sat.SMA": 7000.0 + i % 400} for i in ids)
        out.append(Batch(batch_key(start), str(sweep_dir), str(SCRIPT), ids, overrides))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=15)
    parser.add_argument("--batch", type=int, default=13)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ["GMAT_ROOT"] = str(STANDIN)

    import psutil
    from distributed import Client, LocalCluster

    from gmat_sweep_dask.execute.task import run_batch

    runs = args.tasks * args.batch
    with tempfile.TemporaryDirectory() as tmp:
        sweep_dir = Path(tmp)
        (sweep_dir / "manifest.jsonl").touch()  # what a worker checks it can see
        first = 0
        for batch in batches(sweep_dir, first, 1, args.batch):  # warm the engine host
            run_batch(batch)
        here = []
        for _ in range(args.repeats):
            first += 100_000
            todo = batches(sweep_dir, first, args.tasks, args.batch)
            cpu = time.process_time()
            for batch in todo:
                run_batch(batch)
            here.append((time.process_time() - cpu) * 1000 / runs)
            print(f"in this process: {here[-1]:.3f} ms of CPU a run", flush=True)
        with (
            LocalCluster(
                n_workers=1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            (address,) = client.scheduler_info()["workers"]
            pid = client.run(os.getpid)[address]
            worker = psutil.Process(pid)
            client.gather(client.map(run_batch, batches(sweep_dir, 1, 2, args.batch)))
            for _ in range(args.repeats):
                first += 100_000
                todo = batches(sweep_dir, first, args.tasks, args.batch)
                cpu = sum(worker.cpu_times()[:2])
                client.gather(client.map(run_batch, todo, pure=False))
                used = (sum(worker.cpu_times()[:2]) - cpu) * 1000 / runs
                dask_cost = (used - statistics.median(here)) * args.batch
                print(
                    f"{args.tasks} Dask tasks of {args.batch} runs: {used:.3f} ms of worker "
                    f"CPU a run ({dask_cost:.1f} ms a task more than in this process)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
