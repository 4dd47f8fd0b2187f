"""Where an engine-bound sweep's time goes, from the manifest's per-run timestamps.

Runs ``--repeats`` sweeps of ``--runs`` runs of the stand-in at ``--delay`` seconds per run
on one warm 2-worker LocalCluster and prints, per sweep: the wall time, the summed run
time over the workers, start-up (call → first run), tail (last run → return), the spread
of the workers' last run ends, and the idle gaps of each worker's engine between runs of
one batch and between batches. ``started``/``ended`` are taken in the engine process, so
the gaps are exactly the time the engine had nothing to do.

    python benchmarks/profile_gaps.py [--runs 100] [--delay 0.05] [--repeats 5]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from datetime import datetime
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STANDIN = REPO / "tests" / "gmat_standin" / "root"
SCRIPT = REPO / "tests" / "gmat_standin" / "scripts" / "leo_faults.script"


def grid(n: int, delay: float) -> dict:
    return {
        "Sat.SMA": [7000.0 + 400.0 * i / max(n - 1, 1) for i in range(n)],
        "StandinDelay.Value": [delay],
    }


def stamp(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def profile(out: Path, called: float, returned: float) -> str:
    """One line describing the sweep recorded in ``out``."""
    from gmat_sweep_dask import Manifest

    entries = list(Manifest.load(out / "manifest.jsonl", full=True).entries.values())
    by_worker: dict[str, list[dict]] = {}
    for entry in entries:
        by_worker.setdefault(entry["worker"], []).append(entry)
    within, between, ends = [], [], []
    for runs in by_worker.values():
        runs.sort(key=lambda e: e["started"])
        ends.append(stamp(runs[-1]["ended"]))
        for before, after in pairwise(runs):
            gap = stamp(after["started"]) - stamp(before["ended"])
            (within if before["batch"] == after["batch"] else between).append(gap)
    first = min(stamp(e["started"]) for e in entries)
    busy = sum(e["duration_s"] for e in entries) / len(by_worker)

    def ms(gaps: list[float]) -> str:
        return f"{statistics.median(gaps) * 1000:.2f} ms" if gaps else "-"

    return (
        f"wall {returned - called:.3f} s | run time per worker {busy:.3f} s "
        f"(mean run {busy * len(by_worker) / len(entries) * 1000:.1f} ms) | "
        f"start-up {(first - called) * 1000:.0f} ms | tail {(returned - max(ends)) * 1000:.0f} ms"
        f" | last-run spread {(max(ends) - min(ends)) * 1000:.0f} ms | "
        f"gaps in a batch: {len(within)}, median {ms(within)} | "
        f"between batches: {len(between)}, median {ms(between)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("GMAT_ROOT", str(STANDIN))

    from distributed import Client, LocalCluster

    from gmat_sweep_dask import sweep

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR
        ) as cluster,
        Client(cluster) as client,
        tempfile.TemporaryDirectory() as tmp,
    ):
        sweep(
            SCRIPT, grid=grid(4, args.delay), out=Path(tmp) / "warm", client=client, progress=False
        )
        for rep in range(args.repeats):
            out = Path(tmp) / f"sweep-{rep}"
            called = time.time()
            sweep(SCRIPT, grid=grid(args.runs, args.delay), out=out, client=client, progress=False)
            print(profile(out, called, time.time()), flush=True)


if __name__ == "__main__":
    main()
