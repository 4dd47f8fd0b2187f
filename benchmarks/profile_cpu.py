"""Where a sweep's time goes: phases of repeated sweeps and CPU per run by process.

Runs ``--repeats`` sweeps of ``--runs`` runs on one warm 2-worker process LocalCluster
(the same set-up as ``bench_throughput.py``), each read once with ``.compute()``, and
prints the medians of: the first run's start and the last run's end after the call
(manifest timestamps), when ``sweep()`` returned, and the whole call-to-read wall; then the
CPU milliseconds per run of the driver (client and scheduler), the worker processes and
their engine hosts (``psutil`` deltas over all repeats).

    python benchmarks/profile_cpu.py [--runs 200] [--repeats 7] [--script PATH]

Uses ``GMAT_ROOT`` if it names a real GMAT (default script: the reference mission), else
the stand-in engine (default script: ``leo_faults.script``, ~2.5 ms a run).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STANDIN = REPO / "tests" / "gmat_standin" / "root"


def _cpu_by_role() -> dict[str, float]:
    """CPU seconds used so far by this process, its worker processes and engine hosts."""
    import psutil

    me = psutil.Process()
    used: dict[str, float] = {}
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
            command = " ".join(process.cmdline())
        except psutil.Error:
            continue
        role = "driver" if process.pid == me.pid else "worker"
        if "enginehost" in command:
            role = "engine"
        used[role] = used.get(role, 0.0) + times.user + times.system
    return used


def _run_span(out: Path) -> tuple[float, float]:
    """Earliest start and latest end of the runs recorded in ``out``'s manifest (epoch s)."""
    starts, ends = [], []
    for line in (out / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry.get("started"):
            starts.append(datetime.fromisoformat(entry["started"]).timestamp())
            ends.append(datetime.fromisoformat(entry["ended"]).timestamp())
    return min(starts), max(ends)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--script", type=Path)
    args = parser.parse_args()
    real = os.environ.get("GMAT_ROOT") and Path(os.environ["GMAT_ROOT"]).resolve() != STANDIN
    if not real:
        os.environ["GMAT_ROOT"] = str(STANDIN)
    default = "gmat_real/scripts/reference.script"
    if not real:
        default = "gmat_standin/scripts/leo_faults.script"
    script = (args.script or REPO / "tests" / default).resolve()

    from distributed import Client, LocalCluster

    from gmat_sweep_dask import sweep

    def grid(n: int) -> dict[str, list[float]]:
        return {"Sat.SMA": [7000.0 + 400.0 * i / max(n - 1, 1) for i in range(n)]}

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
        tempfile.TemporaryDirectory() as tmp,
    ):
        sweep(script, grid=grid(4), out=Path(tmp) / "warm", client=client, progress=False).compute()
        phases = []
        before = _cpu_by_role()
        for repeat in range(args.repeats):
            out = Path(tmp) / f"sweep-{repeat}"
            called, start = time.time(), time.perf_counter()
            frame = sweep(script, grid=grid(args.runs), out=out, client=client, progress=False)
            returned = time.perf_counter() - start
            frame.compute()
            total = time.perf_counter() - start
            first, last = _run_span(out)
            phases.append((first - called, last - called, returned, total))
        after = _cpu_by_role()
    names = ("first run started", "last run ended", "sweep() returned", "frame read")
    print(f"{script.name}: {args.runs} runs, median of {args.repeats}, seconds after the call:")
    for i, name in enumerate(names):
        print(f"  {name}: {statistics.median(p[i] for p in phases):.3f}")
    runs = args.runs * args.repeats
    per_run = {k: (after[k] - before.get(k, 0.0)) * 1000 / runs for k in after}
    print("CPU ms per run: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(per_run.items())))
    print(f"1-min load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
