"""Scale: a 100,000-run grid at t≈0 on a 2-worker LocalCluster (TARGETS.md P3 and P5).

Measures, for one sweep run in a fresh driver process:

* time from the ``sweep()`` call to the first run's start (from the manifest);
* driver peak RSS (``ru_maxrss`` of the driver process, which holds the client and, with
  a LocalCluster, the scheduler) when ``sweep()`` returns;
* wall time and runs/s of the whole sweep;
* files left in the sweep directory per run (raw GMAT text off, the default);
* time to reopen the result frame.

    python benchmarks/bench_scale.py [--runs 100000] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STANDIN = REPO / "tests" / "gmat_standin" / "root"
SCRIPT = REPO / "tests" / "gmat_standin" / "scripts" / "leo.script"


def driver(runs: int, workers: int, out: Path) -> dict:
    """Run the sweep in this process and return the measurements."""
    from distributed import Client, LocalCluster

    from gmat_sweep_dask import Manifest, open_sweep, sweep

    inner = 100 if runs % 100 == 0 else 1
    grid = {
        "Sat.SMA": [7000.0 + 0.01 * i for i in range(runs // inner)],
        "Sat.ECC": [0.001 + 1e-5 * j for j in range(inner)],
    }
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        called = time.time()
        sweep(SCRIPT, grid=grid, out=out, client=client, progress=False)
        wall = time.time() - called
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first = first_start(out / "manifest.jsonl")
    manifest = Manifest.load(out / "manifest.jsonl")
    started = time.perf_counter()
    frame = open_sweep(out)
    open_s = time.perf_counter() - started
    files = sum(1 for p in out.rglob("*") if p.is_file())
    n = manifest.run_count
    return {
        "runs": n,
        "first_run_start_s": round(first - called, 3),
        "driver_peak_rss_mb": round(peak_mb, 1),
        "wall_s": round(wall, 1),
        "runs_per_s": round(n / wall, 1),
        "files": files,
        "runs_per_file": round(n / files, 1),
        "open_frame_s": round(open_s, 3),
        "partitions": frame.npartitions,
        "ok": manifest.status_counts().get("ok", 0),
    }


def first_start(path: Path) -> float:
    """Earliest run start recorded in a manifest, streamed line by line."""
    earliest = float("inf")
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            started = json.loads(line).get("started")
            if started:
                earliest = min(earliest, datetime.fromisoformat(started).timestamp())
    return earliest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--driver", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver:
        print(json.dumps(driver(args.runs, args.workers, Path(args.out))))
        return
    env = {**os.environ, "GMAT_ROOT": os.environ.get("GMAT_ROOT", str(STANDIN))}
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--driver",
                "--runs",
                str(args.runs),
                "--workers",
                str(args.workers),
                "--out",
                str(Path(tmp) / "sweep"),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    for key, value in measured.items():
        print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
