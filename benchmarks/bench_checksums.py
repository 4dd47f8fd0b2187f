"""What page checksums cost on the 10,000-run analysis benchmark (issue 12).

Every data file is written with a CRC-32 per page and read with verification. This
measures, on the compacted sweep of ``bench_analysis.py`` (10,000 runs x 120 rows, built
with this version so its pages carry checksums), ``open_sweep`` + ``max`` of one column
and 20 ``loc[run_id]`` (runs spread over the file), with verification (as shipped) and
without it (the partition reader opening files with plain ``pq.ParquetFile``). Both
variants run in this one process, interleaved (ABBA...) after an untimed warm-up of
each, so machine load and the page cache hit them alike; wall and CPU time (all
threads). Then pyarrow alone (``read_row_group``, one thread, CPU time) for the raw
cost per byte, and the full ``verify()`` of the sweep (what ``resume`` reads first).

    python benchmarks/bench_checksums.py [--runs 10000] [--repeats 15] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from bench_analysis import COLUMN, STANDIN, build


def frame_costs(work: Path, runs: int, repeats: int) -> None:
    """open+max and 20 x loc through open_sweep, verified and not, interleaved."""
    import pyarrow.parquet as pq

    from gmat_sweep_dask import open_sweep
    from gmat_sweep_dask.store import datafiles

    variants = {"verified (shipped)": datafiles.open_verified, "not verified": pq.ParquetFile}
    ids = [runs * k // 20 + 7 for k in range(20)]

    def once(reader: object) -> tuple[float, float, float, float]:
        datafiles.open_verified = reader  # what the frame's partition reader opens with
        w0, c0 = time.perf_counter(), time.process_time()
        frame = open_sweep(work / "gsd")
        float(frame[COLUMN].max().compute())
        w1, c1 = time.perf_counter(), time.process_time()
        for run_id in ids:
            frame.loc[run_id].compute()
        w2, c2 = time.perf_counter(), time.process_time()
        return w1 - w0, c1 - c0, w2 - w1, c2 - c1

    for reader in variants.values():
        once(reader)  # warm-up: imports, page cache
    samples: dict[str, list[tuple[float, float, float, float]]] = {n: [] for n in variants}
    for repeat in range(repeats):
        names = list(variants) if repeat % 2 == 0 else list(variants)[::-1]
        for name in names:
            samples[name].append(once(variants[name]))
    datafiles.open_verified = variants["verified (shipped)"]

    def med(name: str, index: int) -> float:
        return statistics.median(sample[index] for sample in samples[name])

    def low(name: str, index: int) -> float:
        return min(sample[index] for sample in samples[name])

    print(f"\n{runs} runs x 120 rows, {repeats} interleaved repeats, seconds: median (min)")
    print("| reads | open+max wall | open+max CPU | 20 x loc wall | 20 x loc CPU |")
    print("|---|---|---|---|---|")
    for name in variants:
        cells = " | ".join(f"{med(name, i):.3f} ({low(name, i):.3f})" for i in range(4))
        print(f"| {name} | {cells} |")
    shipped, plain = variants
    labels = ("open+max wall", "open+max CPU", "20 x loc wall", "20 x loc CPU")
    for index, label in enumerate(labels):
        ratio = med(shipped, index) / med(plain, index)
        least = low(shipped, index) / low(plain, index)
        print(
            f"{label}: verified / not verified = {ratio:.3f} median ({(ratio - 1) * 100:+.1f} %)"
            f", {least:.3f} min ({(least - 1) * 100:+.1f} %)"
        )


def pyarrow_costs(files: list[Path], repeats: int) -> None:
    """CPU time of reading every row group with pyarrow alone, verified and not."""
    import pyarrow.parquet as pq

    for columns in (["run_id", "time", COLUMN], None):
        costs: dict[bool, list[float]] = {True: [], False: []}
        for repeat in range(repeats):
            for flag in (True, False) if repeat % 2 == 0 else (False, True):
                started = time.process_time()
                for file in files:
                    handle = pq.ParquetFile(file, page_checksum_verification=flag)
                    for group in range(handle.num_row_groups):
                        handle.read_row_group(group, columns=columns, use_threads=False)
                costs[flag].append(time.process_time() - started)
        on, off = (statistics.median(costs[flag]) for flag in (True, False))
        print(
            f"pyarrow read_row_group of {'3 columns' if columns else 'all columns'}, one "
            f"thread: CPU {on * 1e3:.1f} ms verified vs {off * 1e3:.1f} ms not "
            f"({(on / off - 1) * 100:+.1f} %)"
        )


def verify_cost(work: Path, files: list[Path], repeats: int) -> None:
    from gmat_sweep_dask import verify

    checks = []
    for _ in range(repeats):
        started = time.perf_counter()
        found = verify(work / "gsd")
        checks.append(time.perf_counter() - started)
        assert found.ok, found.damaged
    size = sum(f.stat().st_size for f in files) / 2**20
    print(
        f"verify(): {statistics.median(checks):.2f} s median ({min(checks):.2f}-"
        f"{max(checks):.2f}) for {len(files)} file(s), {size:.1f} MiB, every page read"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--work", default="/tmp/gmat-sweep-dask-bench-checksums")
    args = parser.parse_args()
    work = Path(args.work)
    os.environ.setdefault("GMAT_ROOT", str(STANDIN))
    build(work, args.runs, layouts=False)
    files = sorted((work / "gsd" / "data").rglob("*.parquet"))
    loads = [os.getloadavg()[0]]
    frame_costs(work, args.runs, args.repeats)
    loads.append(os.getloadavg()[0])
    pyarrow_costs(files, args.repeats)
    verify_cost(work, files, args.repeats)
    loads.append(os.getloadavg()[0])
    cpus = os.cpu_count()
    print(f"load average (1 min) during the runs: {min(loads):.2f}-{max(loads):.2f}, {cpus} CPUs")


if __name__ == "__main__":
    main()
