"""Lazy analysis at 10,000 runs x 120 rows (issue 6): open, one-column scan, loc, memory.

The sweep is built once with our ``sweep()`` on the stand-in engine (``examples/leo.script``,
``Duration.Value`` 7140 s, a row every 60 s: 120 rows per run) on a 2-worker LocalCluster,
and compacted as every sweep is (``gsd``); a second identical sweep is left as the workers
wrote it, one file per batch, as a running or interrupted sweep is (``gsd-raw``,
``gmat-sweep-dask.compact: false``). The same rows are then written in two per-run layouts:

* ``gs``  gmat-sweep 0.6.0's layout, ``run-<id>/report__Orbit.parquet`` (gmat-run's column
  names plus the ``time`` copy its worker adds) and its manifest written with its own
  ``Manifest``/``ManifestEntry`` classes; read with ``gmat_sweep.aggregate.lazy_multiindex``.
* ``dd``  10,000 per-run files with our normalised schema, read with ``dd.read_parquet``
  (``index="run_id"``, ``calculate_divisions=True`` so ``loc`` can pick a file).

Each tool runs in a fresh subprocess per repeat (imports are not timed), which measures
``open``, ``max`` of one column from the opened object, ``loc[run_id]``, and the peak RSS
(sampled every 2 ms) with its growth over the RSS after imports. ``open+max`` is the time
from a sweep directory to the answer. Dask tools use dask's default threaded scheduler.

    python benchmarks/bench_analysis.py [--runs 10000] [--repeats 3] [--work DIR]
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STANDIN = REPO / "tests" / "gmat_standin" / "root"
SCRIPT = REPO / "examples" / "leo.script"
COLUMN = "Sat.X"
TOOLS = ("gsd", "gsd-raw", "gs", "dd")


def build(work: Path, runs: int, *, layouts: bool = True) -> None:
    """Run the sweep (unless already there) and derive the two per-run layouts from it
    (unless ``layouts`` is False)."""
    run_sweep(work / "gsd", runs, compact=True)
    if layouts and not (work / "gs" / "manifest.jsonl").exists():
        write_per_run(work / "gsd", work, runs)


def run_sweep(out: Path, runs: int, *, compact: bool) -> None:
    """The benchmark's sweep into ``out``, compacted at the end or not; kept if complete."""
    import dask.config
    from distributed import Client, LocalCluster

    from gmat_sweep_dask import Manifest, sweep

    done = (out / "manifest.jsonl").exists() and Manifest.load(
        out / "manifest.jsonl"
    ).status_counts() == {"ok": runs}
    if done:
        return
    grid = {
        "Sat.SMA": [7000.0 + i for i in range(runs // 100)],
        "Sat.ECC": [0.0005 * (j + 1) for j in range(100)],
        "Duration.Value": [7140],
    }
    opts = {"threads_per_worker": 1, "dashboard_address": None}
    with (
        dask.config.set({"gmat-sweep-dask.compact": compact}),
        LocalCluster(n_workers=2, silence_logs=logging.ERROR, **opts) as cluster,
        Client(cluster) as client,
    ):
        started = time.perf_counter()
        sweep(SCRIPT, grid=grid, out=out, client=client, progress=False)
    files = len(list((out / "data").rglob("*.parquet")))
    print(f"built {runs} runs with sweep() in {time.perf_counter() - started:.0f} s: {files} files")


def write_per_run(out: Path, work: Path, runs: int) -> None:
    """The sweep's rows as gmat-sweep's per-run layout and as plain per-run files."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from gmat_sweep.manifest import Manifest, ManifestEntry

    from gmat_sweep_dask import open_sweep

    data = open_sweep(out).compute()
    columns = ["time", "Sat.X", "Sat.Y", "Sat.Z", "Sat.Earth.Altitude"]
    gs, plain = work / "gs", work / "dd"
    plain.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)
    entries = []
    for run_id, rows in data.groupby(level=0, sort=True):
        rows = rows[columns].reset_index()
        pq.write_table(
            pa.Table.from_pandas(rows, preserve_index=False), plain / f"{run_id}.parquet"
        )
        report = rows.drop(columns="run_id").rename(columns={"time": "Sat.UTCGregorian"})
        report["time"] = report["Sat.UTCGregorian"]
        relative = Path(f"run-{run_id:05d}") / "report__Orbit.parquet"
        (gs / relative).parent.mkdir(parents=True, exist_ok=True)
        report.to_parquet(gs / relative)
        entries.append(
            ManifestEntry(
                run_id=int(run_id),
                overrides={"Sat.SMA": 0.0},
                status="ok",
                output_paths={"report__Orbit": relative},
                started_at=now,
                ended_at=now,
                duration_s=0.1,
                stderr=None,
                log_path=None,
            )
        )
    manifest = Manifest(
        script_sha256="0" * 64,
        gmat_sweep_version="0.6.0",
        gmat_run_version="0.6.0",
        gmat_install_version="stand-in",
        python_version=sys.version.split()[0],
        os_platform=sys.platform,
        sweep_seed=None,
        parameter_spec={},
        run_count=runs,
        entries=entries,
    )
    manifest.save(gs / "manifest.jsonl")
    print(f"wrote {len(entries)} per-run files for gmat-sweep and for dd.read_parquet")


class PeakRss:
    """Samples this process's resident set size every 2 ms in a thread; keeps the peak."""

    def __init__(self) -> None:
        self.start = self.now()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def now() -> int:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * resource.getpagesize()

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self.now())

    def stop(self) -> tuple[float, float]:
        """Peak RSS and its growth over the start, in MiB."""
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())
        return self.peak / 2**20, (self.peak - self.start) / 2**20


def measure(tool: str, work: Path, run_id: int) -> dict:
    """Time one tool in this (fresh) process; its imports happen before the clock starts."""
    import pyarrow.parquet  # noqa: F401  (imported untimed, as before this benchmark's clock)

    if tool.startswith("gsd"):
        from gmat_sweep_dask import open_sweep
    elif tool == "gs":
        from gmat_sweep.aggregate import lazy_multiindex
        from gmat_sweep.manifest import Manifest
    else:
        import dask.dataframe as dd
    rss = PeakRss()
    clock = time.perf_counter
    cpu = [time.process_time()]  # CPU seconds of every thread: less sensitive to load
    t0 = clock()
    if tool.startswith("gsd"):
        frame = open_sweep(work / tool)
    elif tool == "gs":
        frame = lazy_multiindex(Manifest.load(work / "gs" / "manifest.jsonl"), work / "gs")
    else:
        files = sorted(str(p) for p in (work / "dd").glob("*.parquet"))
        frame = dd.read_parquet(files, index="run_id", calculate_divisions=True)
    t1 = clock()
    cpu.append(time.process_time())
    column = frame[COLUMN].max()
    top = float(column if tool == "gs" else column.compute())
    t2 = clock()
    cpu.append(time.process_time())
    one = frame.loc[run_id]
    rows = len(one if tool == "gs" else one.compute())
    t3 = clock()
    cpu.append(time.process_time())
    peak, growth = rss.stop()
    result = {
        "open": t1 - t0,
        "max": t2 - t1,
        "loc": t3 - t2,
        "cpu": [b - a for a, b in itertools.pairwise(cpu)],
        "peak_mb": peak,
        "delta_mb": growth,
        "answer": top,
        "loc_rows": rows,
    }
    if tool.startswith("gsd"):  # untimed: which partitions and row groups loc[run_id] reads
        result["loc_reads"] = loc_reads(open_sweep(work / tool), work / tool, run_id)
    return result


def loc_reads(frame, out: Path, run_id: int) -> str:
    """What ``frame.loc[run_id]`` reads: partitions, Parquet files and row groups."""
    import pyarrow.parquet as pq

    reads: list = []
    original = pq.ParquetFile.read_row_groups

    def record(self, row_groups, *args, **kwargs):
        reads.append(list(row_groups))
        return original(self, row_groups, *args, **kwargs)

    pq.ParquetFile.read_row_groups = record
    selected = frame.loc[run_id]
    selected.compute(scheduler="sync")
    pq.ParquetFile.read_row_groups = original
    files = list((out / "data" / "report" / "Orbit").glob("*.parquet"))
    groups = sum(pq.read_metadata(f).num_row_groups for f in files)
    return (
        f"{selected.optimize().npartitions} of {frame.npartitions} partitions, "
        f"{len(reads)} of {len(files)} files, {sum(map(len, reads))} of {groups} row groups"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", default="/tmp/gmat-sweep-dask-bench-analysis")
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--measure", choices=TOOLS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = Path(args.work)
    run_id = args.runs // 2 + 7
    if args.measure:
        print(json.dumps(measure(args.measure, work, run_id)))
        return
    os.environ.setdefault("GMAT_ROOT", str(STANDIN))
    build(work, args.runs)
    run_sweep(work / "gsd-raw", args.runs, compact=False)
    results: dict[str, list[dict]] = {tool: [] for tool in args.tools}
    loads = [os.getloadavg()[0]]
    for _ in range(args.repeats):
        for tool in args.tools:
            command = [sys.executable, __file__, "--measure", tool, "--work", str(work)]
            command += ["--runs", str(args.runs)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            results[tool].append(json.loads(done.stdout.strip().splitlines()[-1]))
            loads.append(os.getloadavg()[0])
    report(results, loads, args)


def report(results: dict[str, list[dict]], loads: list[float], args: argparse.Namespace) -> None:
    def med(tool: str, key: str) -> float:
        return statistics.median(r[key] for r in results[tool])

    def spread(tool: str, key: str) -> str:
        values = [r[key] for r in results[tool]]
        return f"{med(tool, key):.3f} ({min(values):.3f}-{max(values):.3f})"

    names = {
        "gsd": "gmat-sweep-dask open_sweep",
        "gsd-raw": "gmat-sweep-dask open_sweep, not compacted",
        "gs": "gmat-sweep 0.6.0 lazy_multiindex",
        "dd": f"dd.read_parquet, {args.runs} per-run files",
    }
    answers = {round(r["answer"], 9) for rs in results.values() for r in rs}
    print(f"\n{args.runs} runs x 120 rows, {args.repeats} repeats, median (min-max) seconds")
    rows = {r["loc_rows"] for rs in results.values() for r in rs}
    base = "gsd" if "gsd" in results else next(iter(results))
    print(f"every tool found max({COLUMN}) = {answers} and loc rows {rows}")
    print(f"| tool | open | max(col) | open+max | vs {base} | loc[run] | peak RSS MiB (growth) |")
    print("|---|---|---|---|---|---|---|")
    ours = statistics.median(r["open"] + r["max"] for r in results[base])
    for tool in results:
        for r in results[tool]:
            r["total"] = r["open"] + r["max"]
        total = med(tool, "total")
        print(
            f"| {names[tool]} | {spread(tool, 'open')} | {spread(tool, 'max')} | "
            f"{spread(tool, 'total')} | {total / ours:.1f}x | {spread(tool, 'loc')} | "
            f"{med(tool, 'peak_mb'):.0f} ({med(tool, 'delta_mb'):.0f}) |"
        )
    print("CPU seconds (all threads), median: open, max(col), loc[run]")
    for tool in results:
        cpu = [statistics.median(r["cpu"][i] for r in results[tool]) for i in range(3)]
        print(f"  {names[tool]}: {cpu[0]:.3f}, {cpu[1]:.3f}, {cpu[2]:.3f}")
    for tool in (t for t in results if t.startswith("gsd")):
        print(f"{names[tool]}: loc[{args.runs // 2 + 7}] reads {results[tool][0]['loc_reads']}")
    cpus = os.cpu_count()
    print(f"load average (1 min) during the runs: {min(loads):.2f}-{max(loads):.2f}, {cpus} CPUs")


if __name__ == "__main__":
    main()
