"""Dispersion statistics on the 10,000-run analysis benchmark: time and peak memory.

The sweep is the one ``bench_analysis.py`` builds (``examples/leo.script``, 10,000 runs x
120 rows, a row every 60 s; built here too if missing). Each case runs in a fresh
subprocess per repeat, imports untimed; the clock runs from the sweep directory to the
answer, and the resident set size is sampled every 2 ms (peak, and growth over the RSS
after imports, scipy.stats and pyarrow.parquet included):

* ``scan``  ``open_sweep(dir)["Sat.X"].max()``: the floor, any lazy one-column scan;
* ``dispersion``  ``dispersion(open_sweep(dir), ["Sat.X", "Sat.Y", "Sat.Z"], at=EPOCH,
  q=(0.05, 0.5, 0.95))`` at an epoch between two report rows (every run interpolated),
  plus the 3-sigma ellipse of X and Y (the orbits share one plane, so X, Y, Z have a
  singular covariance);
* ``violation``  ``violation_probability(open_sweep(dir), "Sat.Earth.Altitude < 700",
  at=EPOCH)`` with its Wilson and Clopper-Pearson intervals;
* ``pandas``  the same statistics by hand: the whole frame computed into pandas, each
  run interpolated with ``numpy.interp``, then ``mean``/``numpy.cov``/``numpy.percentile``.

    python benchmarks/bench_dispersion.py [--runs 10000] [--repeats 3] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_analysis import STANDIN, PeakRss, build

COLUMNS = ["Sat.X", "Sat.Y", "Sat.Z"]
EPOCH = "2026-01-01 01:00:30"  # half-way between two report rows
CONSTRAINT = "Sat.Earth.Altitude < 700"
CASES = ("scan", "dispersion", "violation", "pandas")


def measure(case: str, out: Path) -> dict:
    """Time one case in this (fresh) process; imports happen before the clock starts."""
    import numpy as np
    import pandas as pd
    import pyarrow.parquet  # noqa: F401 - imported before the clock, as scipy.stats
    import scipy.stats  # noqa: F401

    from gmat_sweep_dask import dispersion, open_sweep, violation_probability

    rss = PeakRss()
    started = time.perf_counter()
    if case == "scan":
        answer = {"max_x": float(open_sweep(out)["Sat.X"].max().compute())}
    elif case == "dispersion":
        result = dispersion(open_sweep(out), COLUMNS, at=EPOCH, q=(0.05, 0.5, 0.95))
        axes = result.ellipsoid(["Sat.X", "Sat.Y"], n_sigma=3).semi_axes
        answer = {"used": result.used, "mean_x": float(result.mean["Sat.X"])}
        answer["semi_axes"] = [round(float(a), 6) for a in axes]
    elif case == "violation":
        result = violation_probability(open_sweep(out), CONSTRAINT, at=EPOCH)
        answer = {"violated": result.violated, "n": result.n}
        answer["wilson"] = [round(v, 6) for v in result.wilson]
    else:
        data = open_sweep(out).compute()
        when = (pd.Timestamp(EPOCH) - pd.Timestamp(0)).total_seconds()
        rows = []
        for _, run in data[data["status"] == "ok"].groupby(level=0, sort=True):
            t = (run["time"] - pd.Timestamp(0)).dt.total_seconds().to_numpy()
            if t[0] <= when <= t[-1]:
                rows.append([np.interp(when, t, run[c].to_numpy()) for c in COLUMNS])
        values = np.array(rows)
        mean, cov = values.mean(axis=0), np.cov(values.T)
        np.percentile(values, [5, 50, 95], axis=0)
        semi = 3 * np.sqrt(np.linalg.eigvalsh(cov[:2, :2]))[::-1]
        answer = {"used": len(values), "mean_x": float(mean[0])}
        answer["frame_mib"] = round(data.memory_usage(deep=True).sum() / 2**20, 1)
        answer["semi_axes"] = [round(float(a), 6) for a in semi]
    seconds = time.perf_counter() - started
    peak, growth = rss.stop()
    return {"seconds": seconds, "peak_mb": peak, "delta_mb": growth, "answer": answer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", default="/tmp/gmat-sweep-dask-bench-analysis")
    parser.add_argument("--measure", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    out = Path(args.work) / "gsd"
    if args.measure:
        print(json.dumps(measure(args.measure, out)))
        return
    os.environ.setdefault("GMAT_ROOT", str(STANDIN))
    build(Path(args.work), args.runs, layouts=False)
    results: dict[str, list[dict]] = {case: [] for case in CASES}
    loads = [os.getloadavg()[0]]
    for _ in range(args.repeats):
        for case in CASES:
            command = [sys.executable, __file__, "--measure", case, "--work", args.work]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            results[case].append(json.loads(done.stdout.strip().splitlines()[-1]))
            loads.append(os.getloadavg()[0])
    print(f"\n{args.runs} runs x 120 rows, at {EPOCH}, {args.repeats} repeats, median (min-max)")
    print("| case | seconds | peak RSS MiB | RSS growth MiB | answer |")
    print("|---|---|---|---|---|")
    for case in CASES:
        rows = results[case]

        def spread(key: str, rows: list[dict] = rows) -> str:
            values = [r[key] for r in rows]
            return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"

        answer = json.dumps(rows[0]["answer"])
        print(
            f"| {case} | {spread('seconds')} | {spread('peak_mb')} | {spread('delta_mb')} | "
            f"{answer} |"
        )
    print(f"load average (1 min): {min(loads):.2f}-{max(loads):.2f}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
