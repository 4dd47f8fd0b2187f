"""SLURM vs LocalCluster: throughput and worker idle time for the same sweep (issue 5).

One 200-run sweep of the stand-in mission with ~25 ms of engine time per run, on

* ``local``:  a 2-worker LocalCluster,
* ``slurm``:  dask-jobqueue ``SLURMCluster`` scaled to 2 one-core jobs,

both warmed by a 4-run sweep before the clock starts (jobs running, engine processes up),
and
* ``adapt``:  ``SLURMCluster.adapt(minimum_jobs=0, maximum_jobs=2)`` starting from zero
  jobs (job start-up is inside the clock).

Idle fraction = 1 − (sum of run durations) / (workers × wall). Needs a running SLURM
(``eval "$(tests/cluster/slurm-up.sh | tail -n 1)"``).

    python benchmarks/bench_slurm.py [--runs 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("GMAT_ROOT", str(REPO / "tests" / "gmat_standin" / "root"))
SCRIPT = REPO / "tests" / "gmat_standin" / "scripts" / "leo_faults.script"


def slurm_cluster(logs: str):
    from dask_jobqueue import SLURMCluster

    return SLURMCluster(
        cores=1,
        processes=1,
        memory="1GB",
        walltime="00:30:00",
        scheduler_options={"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"},
        python=sys.executable,
        log_directory=logs,
        job_script_prologue=[f"export GMAT_ROOT={os.environ['GMAT_ROOT']}"],
    )


def one(kind: str, runs: int, out: Path, logs: str) -> tuple[float, float]:
    """(wall seconds, idle fraction) of one sweep on a fresh cluster of ``kind``."""
    from distributed import Client, LocalCluster

    from gmat_sweep_dask import Manifest, sweep

    if kind == "local":
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR
        )
    else:
        cluster = slurm_cluster(logs)
    grid = {"Sat.SMA": [7000.0 + i for i in range(runs)], "StandinDelay.Value": [0.02]}
    with cluster, Client(cluster, set_as_default=False) as client:
        if kind == "slurm":
            cluster.scale(jobs=2)
        if kind != "adapt":
            client.wait_for_workers(2, timeout=120)
            warm = {"Sat.SMA": [7000.0, 7001.0, 7002.0, 7003.0]}  # start the engine hosts
            sweep(
                SCRIPT,
                grid=warm,
                out=out.with_name(out.name + "-warm"),
                client=client,
                progress=False,
            )
        else:
            cluster.adapt(minimum_jobs=0, maximum_jobs=2, interval="1s", wait_count=3)
        start = time.perf_counter()
        sweep(SCRIPT, grid=grid, out=out, client=client, progress=False)
        wall = time.perf_counter() - start
    busy = sum(
        e["duration_s"] for e in Manifest.load(out / "manifest.jsonl", full=True).entries.values()
    )
    return wall, 1 - busy / (2 * wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("SLURM_CONF"):
        sys.exit('no SLURM: eval "$(tests/cluster/slurm-up.sh | tail -n 1)" first')
    results: dict[str, list[tuple[float, float]]] = {"local": [], "slurm": [], "adapt": []}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            for kind in results:
                out = Path(tmp) / f"{kind}-{rep}"
                results[kind].append(one(kind, args.runs, out, tmp))
    print(f"{args.runs} runs, ~25 ms engine time each, 2 workers; median of {args.repeats}")
    print("| cluster | wall s | runs/s | worker idle fraction |")
    print("|---|---|---|---|")
    for kind, values in results.items():
        wall = statistics.median(v[0] for v in values)
        idle = statistics.median(v[1] for v in values)
        print(f"| {kind} | {wall:.2f} | {args.runs / wall:.1f} | {idle:.1%} |")


if __name__ == "__main__":
    main()
