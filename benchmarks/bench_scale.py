"""Scale: a 100,000-run grid at t≈0 on a 2-worker LocalCluster (TARGETS.md P3 and P5).

Measures, for one sweep run in a fresh driver process:

* time from the ``sweep()`` call to the first run's start (from the manifest);
* driver peak RSS (``ru_maxrss`` of the driver process, which holds the client and, with
  a LocalCluster, the scheduler) when ``sweep()`` returns;
* wall time and runs/s of the whole sweep;
* files left in the sweep directory per run (raw GMAT text off, the default);
* time to reopen the result frame;
* on the same cluster, the wall time of as many trivial Dask tasks (``client.map`` of a
  no-op, all submitted at once, then waited for) and the sweep's ratio to it.

``--cli`` instead launches ``gmat-sweep-dask run`` on a grid of ``--runs`` runs (the
CLI's own LocalCluster) in a process group of its own and watches it for ``--watch``
seconds: when the manifest records its first run, and the driver's peak RSS (``VmHWM``);
then interrupts it (SIGINT to the group) unless it finished.

    python benchmarks/bench_scale.py [--runs 100000] [--workers 2] [--no-tasks]
    python benchmarks/bench_scale.py --cli --runs 1000000 [--watch 60]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STANDIN = REPO / "tests" / "gmat_standin" / "root"
SCRIPT = REPO / "tests" / "gmat_standin" / "scripts" / "leo.script"


def _noop(i: int) -> int:
    return i


def trivial_tasks(client, n: int) -> float:
    """Seconds for ``n`` no-op Dask tasks on ``client``: submitted at once, then waited for."""
    from distributed import wait

    started = time.perf_counter()
    futures = client.map(_noop, range(n), pure=False)
    wait(futures)
    wall = time.perf_counter() - started
    del futures
    return wall


def driver(runs: int, workers: int, out: Path, tasks: bool) -> dict:
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
        tasks_s = trivial_tasks(client, runs) if tasks else None
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
        "trivial_tasks_s": tasks_s and round(tasks_s, 1),
        "wall_vs_trivial_tasks": tasks_s and round(wall / tasks_s, 2),
        "load_average": round(os.getloadavg()[0], 2),
    }


def watch_cli(runs: int, workers: int, out: Path, watch: float) -> dict:
    """Launch a CLI sweep of ``runs`` runs; watch its first recorded run and peak RSS."""
    inner = 1000 if runs % 1000 == 0 else 1
    command = [sys.executable, "-m", "gmat_sweep_dask", "run", str(SCRIPT), "-q"]
    command += ["--grid", f"Sat.SMA=7000:8000:{runs // inner}"]
    command += ["--grid", f"Sat.ECC=0.001:0.01:{inner}", "--workers", str(workers)]
    command += ["--out", str(out)]
    manifest = out / "manifest.jsonl"
    launched = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    first = None
    peak = 0
    while time.perf_counter() - launched < watch and process.poll() is None:
        if first is None and manifest.exists() and '"run_id"' in manifest.read_text()[-65536:]:
            first = time.perf_counter() - launched
        peak = max(peak, _status_kb(process.pid, "VmHWM"))
        time.sleep(0.05)
    peak = max(peak, _status_kb(process.pid, "VmHWM"))
    finished = process.poll() is not None
    if not finished:
        os.killpg(process.pid, signal.SIGINT)
    process.communicate(timeout=300)
    return {
        "runs": runs,
        "first_run_recorded_s": first and round(first, 2),
        "driver_peak_rss_mb": round(peak / 1024, 1),
        "watched_s": watch,
        "finished_in_watch": finished,
        "load_average": round(os.getloadavg()[0], 2),
    }


def _status_kb(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


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
    parser.add_argument("--no-tasks", action="store_true", help="skip the trivial-task baseline")
    parser.add_argument("--cli", action="store_true", help="watch a CLI sweep instead")
    parser.add_argument("--watch", type=float, default=60.0)
    parser.add_argument("--driver", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver:
        print(json.dumps(driver(args.runs, args.workers, Path(args.out), not args.no_tasks)))
        return
    env = {**os.environ, "GMAT_ROOT": os.environ.get("GMAT_ROOT", str(STANDIN))}
    if args.cli:
        os.environ["GMAT_ROOT"] = env["GMAT_ROOT"]
        with tempfile.TemporaryDirectory() as tmp:
            measured = watch_cli(args.runs, args.workers, Path(tmp) / "sweep", args.watch)
        for key, value in measured.items():
            print(f"{key:>22}: {value}")
        return
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
                *(["--no-tasks"] if args.no_tasks else []),
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
