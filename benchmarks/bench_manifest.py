"""Peak memory and time of reading a large manifest: ``Manifest.load``, ``show``, ``runs_table``.

Writes a sweep directory whose manifest records ``--runs`` ok runs (a real header: a
1000 x N grid over the example script; entries shaped as workers write them, 256 runs
per batch file, ~375 bytes a line; one session; no data files), then loads it in a fresh process per
case and prints seconds and the process's peak RSS (``VmHWM``: ``ru_maxrss`` would count
the parent that wrote the manifest), imports included. Linux only.

    python benchmarks/bench_manifest.py --runs 1000000 --out /tmp/bench-manifest
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "leo.script"

CASES = {
    "import only": "import gmat_sweep_dask.store.manifest",
    "Manifest.load": "from gmat_sweep_dask import Manifest; Manifest.load(OUT + '/manifest.jsonl')",
    "Manifest.load(full=True)": (
        "from gmat_sweep_dask import Manifest; Manifest.load(OUT + '/manifest.jsonl', full=True)"
    ),
    "show": "from gmat_sweep_dask.cli import main; main(['show', OUT], standalone_mode=False)",
    "show --run 7": (
        "from gmat_sweep_dask.cli import main; main(['show', OUT, '--run', '7'], "
        "standalone_mode=False)"
    ),
    "runs_table (show --where)": "from gmat_sweep_dask import runs_table; runs_table(OUT)",
}


def write(out: Path, runs: int) -> None:
    """A sweep directory in ``out`` whose manifest records ``runs`` ok runs."""
    from gmat_sweep_dask.design import Grid
    from gmat_sweep_dask.store.sweepdir import SweepDir

    width = 1000
    design = Grid(
        {
            "Sat.SMA": [7000.0 + i for i in range(width)],
            "Sat.ECC": [0.001 * (1 + i) for i in range(-(-runs // width))],
        }
    )
    sweep = SweepDir(out)
    options = {"keep_raw": False, "timeout": None, "isolate": True, "postprocess": None}
    with sweep.locked(create=True):
        _, writer = sweep.create(EXAMPLE, design, options, None, fsync=False)
        writer.close()
    with open(sweep.manifest_path, "r+") as handle:  # run_count: exactly --runs
        header = json.loads(handle.readline())
    header["run_count"] = runs
    lines = [json.dumps(header, sort_keys=True, separators=(",", ":"))] * 2
    for first in range(0, runs, 256):
        tag = f"{first:09d}-{first * 2654435761 % 16**10:010x}"
        for run_id in range(first, min(first + 256, runs)):
            entry = {
                "attempts": 1,
                "batch": tag,
                "duration_s": 0.053579,
                "ended": "2026-12-04T08:08:27.598516+00:00",
                "error": None,
                "log_tail": None,
                "outputs": {
                    "report/Orbit": {"path": f"data/report/Orbit/part-{tag}.parquet", "rows": 101}
                },
                "overrides": {
                    "Sat.ECC": 0.001 * (1 + run_id // width),
                    "Sat.SMA": 7000.0 + run_id % width,
                },
                "run_id": run_id,
                "started": "2026-12-04T08:08:27.544938+00:00",
                "status": "ok",
                "worker": "tls://127.0.0.1:41041",
            }
            lines.append(json.dumps(entry, sort_keys=True, separators=(",", ":")))
    session = {"started": "2026-12-04T08:00:00+00:00", "ended": "2026-12-04T09:00:00+00:00"}
    update = {"update": {"sessions": [{**session, "ran": runs}]}}
    lines += [json.dumps(update, sort_keys=True, separators=(",", ":"))] * 2
    sweep.manifest_path.write_text("\n".join(lines) + "\n")


def measure(out: Path, code: str) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of ``code`` run in a fresh process."""
    program = (
        "import sys, time\n"
        f"OUT = {str(out)!r}\n"
        "started = time.perf_counter()\n"
        f"{code}\n"
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(time.perf_counter() - started, int(peak.split()[1]) / 1024, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    seconds, rss = done.stderr.strip().splitlines()[-1].split()
    return float(seconds), float(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    if not (args.out / "manifest.jsonl").exists():
        started = time.perf_counter()
        write(args.out, args.runs)
        size = (args.out / "manifest.jsonl").stat().st_size / 2**20
        print(f"wrote {args.runs:,} runs, {size:.0f} MiB in {time.perf_counter() - started:.0f} s")
    for name, code in CASES.items():
        for _ in range(args.repeats):
            seconds, rss = measure(args.out, code)
            print(f"{name:28s} {seconds:7.2f} s  peak RSS {rss:7.0f} MiB")


if __name__ == "__main__":
    main()
