"""Peak memory of ``archive()`` and of reopening the archive, on the 10,000-run sweep.

The sweep is the analysis benchmark's (``bench_analysis.run_sweep``: 10,000 runs x 120
rows on the stand-in engine, compacted; built once into ``--work``/gsd, or reused). In a
fresh subprocess per format and repeat (imports are not measured) it archives the sweep
(``.zip``, ``.tar.gz``) and then reopens it (``open_sweep(archive)`` extracts it, then
``max`` of one column), sampling the process's RSS every 2 ms. Archiving streams each
file in 1 MiB chunks, so the RSS growth should stay a few MiB whatever the sweep's size;
it is printed next to the sweep's bytes.

    python benchmarks/bench_archive.py [--runs 10000] [--repeats 3] [--work DIR]
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

from bench_analysis import STANDIN, PeakRss, run_sweep

FORMATS = ("zip", "tar.gz")


def measure(work: Path, fmt: str) -> dict:
    """Archive ``work/gsd`` to ``work/gsd.<fmt>`` and reopen it, in this process."""
    import gmat_sweep_dask.store.archive as archiving
    from gmat_sweep_dask import open_sweep

    dest = work / f"gsd.{fmt}"
    dest.unlink(missing_ok=True)
    rss = PeakRss()
    started = time.perf_counter()
    _, files, size = archiving.write_archive(work / "gsd", dest)
    seconds = time.perf_counter() - started
    peak, growth = rss.stop()
    rss = PeakRss()
    started = time.perf_counter()
    highest = float(open_sweep(dest)["Sat.X"].max().compute())
    reopen_seconds = time.perf_counter() - started
    reopen_peak, reopen_growth = rss.stop()
    result = {
        "files": files,
        "data_mib": size / 2**20,
        "archive_mib": dest.stat().st_size / 2**20,
        "seconds": seconds,
        "peak_mib": peak,
        "growth_mib": growth,
        "reopen_seconds": reopen_seconds,
        "reopen_peak_mib": reopen_peak,
        "reopen_growth_mib": reopen_growth,
        "max_x": highest,
    }
    dest.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", default="/tmp/gmat-sweep-dask-bench-archive")
    parser.add_argument("--measure", choices=FORMATS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = Path(args.work)
    if args.measure:
        print(json.dumps(measure(work, args.measure)))
        return
    os.environ.setdefault("GMAT_ROOT", str(STANDIN))
    run_sweep(work / "gsd", args.runs, compact=True)
    for fmt in FORMATS:
        runs = []
        for _ in range(args.repeats):
            command = [sys.executable, __file__, "--measure", fmt, "--work", str(work)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        first = runs[0]

        def med(key: str, runs: list[dict] = runs) -> float:
            return statistics.median(r[key] for r in runs)

        print(
            f"{fmt}: {first['files']} files, {first['data_mib']:.1f} MiB of data -> "
            f"{first['archive_mib']:.1f} MiB archive; archive {med('seconds'):.2f} s, "
            f"peak RSS {med('peak_mib'):.0f} MiB (+{med('growth_mib'):.1f} MiB over imports); "
            f"reopen + max {med('reopen_seconds'):.2f} s, peak {med('reopen_peak_mib'):.0f} MiB "
            f"(+{med('reopen_growth_mib'):.1f} MiB); medians of {len(runs)}"
        )


if __name__ == "__main__":
    main()
