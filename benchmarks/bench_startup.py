"""Small sweeps (TARGETS.md P6): a 10-run CLI sweep, process launch to exit, against
``gmat-sweep run`` (its default joblib backend) on the same script, with and without TLS.

Each repeat launches ``gmat-sweep-dask run examples/leo.script --grid Sat.SMA=...:10`` as
a fresh process (its own LocalCluster, 2 workers) into a fresh directory, once with the
default (a TLS-secured cluster with credentials made for this sweep), once with
``--insecure`` (plain TCP on 127.0.0.1), and once ``gmat-sweep run`` (0.6.0, joblib,
``--workers 2``) with the same grid; the order rotates between repeats. Each command runs
in a process group of its own, as a shell job does; what of that group still exists the
moment the command has exited is counted as left running. Prints the median of each and
the ratios; then, in this process, the cost of making the credentials alone and of
starting and closing a LocalCluster with and without TLS.

    python benchmarks/bench_startup.py [--repeats 5] [--runs 10] [--baseline DIR]

``--baseline DIR`` adds a third mode, ``baseline``: the same command run from DIR, a
directory holding an older ``gmat_sweep_dask`` package (``git archive <commit>
gmat_sweep_dask | tar -x -C DIR``), which Python then imports first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "examples" / "leo.script"
MODES = {"tls": [], "insecure": ["--insecure"], "gs": []}
GMAT_SWEEP = Path(sys.executable).with_name("gmat-sweep")


def one(
    out: Path, runs: int, mode: str, extra: list[str], env: dict[str, str], cwd: Path | None
) -> tuple[float, int]:
    """Wall seconds from launching one CLI sweep (from ``cwd``) to its exit (must be 0),
    and how many processes of its process group were left at that moment."""
    grid = ["--grid", f"Sat.SMA=7000:7900:{runs}", "--workers", "2", "--out", str(out)]
    if mode == "gs":
        command = [str(GMAT_SWEEP), "run", str(SCRIPT), *grid]
    else:
        command = [sys.executable, "-m", "gmat_sweep_dask", "run", str(SCRIPT), "-q", *grid]
    start = time.perf_counter()
    process = subprocess.Popen(
        [*command, *extra],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    _, stderr = process.communicate()
    wall = time.perf_counter() - start
    left = group_members(process.pid)
    if process.returncode != 0:
        raise SystemExit(f"{mode} sweep failed ({process.returncode}): {stderr.strip()}")
    return wall, len(left)


def group_members(group: int) -> list[int]:
    """Processes of process group ``group`` (running, or exited and not yet reaped)."""
    members = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:
            members.append(int(pid))
    return members


def keygen_ms(repeats: int) -> float:
    """Median milliseconds of ``Security.temporary()`` (the RSA key behind TLS) in-process."""
    from distributed.security import Security

    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        Security.temporary()
        walls.append((time.perf_counter() - start) * 1000)
    return statistics.median(walls)


def cluster_seconds(insecure: bool) -> float:
    """Seconds to start the 2-worker LocalCluster an isolated sweep starts (its workers
    threads of this process), run one task, close it."""
    from gmat_sweep_dask.execute.cluster import ClusterSpec, connect

    start = time.perf_counter()
    spec = ClusterSpec(workers=2, insecure=insecure)
    with connect(spec=spec, announce=False, threads=True) as client:
        client.submit(sum, [1, 2]).result()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--baseline", type=Path, help="directory holding an older package")
    args = parser.parse_args()
    env = {**os.environ}
    env.setdefault("GMAT_ROOT", str(REPO / "tests" / "gmat_standin" / "root"))
    modes = {**MODES, "baseline": []} if args.baseline else dict(MODES)
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    left: dict[str, int] = dict.fromkeys(modes, 0)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        for repeat in range(args.repeats):
            order = list(modes)[repeat % len(modes) :] + list(modes)[: repeat % len(modes)]
            for mode in order:
                cwd = args.baseline if mode == "baseline" else None
                out = Path(tmp) / f"{mode}-{repeat}"
                wall, stayed = one(out, args.runs, mode, modes[mode], env, cwd)
                times[mode].append(wall)
                left[mode] += stayed
                print(f"repeat {repeat} {mode:>8}: {wall:.2f} s, {stayed} left", flush=True)
    for mode, walls in times.items():
        print(f"{mode}: median {statistics.median(walls):.2f} s of {[round(w, 2) for w in walls]}")
    for mode in times:
        if mode != "tls":
            ratio = statistics.median(times["tls"]) / statistics.median(times[mode])
            print(f"tls / {mode}: {ratio:.3f}")
    print(f"Security.temporary(): median {keygen_ms(args.repeats):.0f} ms")
    clusters: dict[bool, list[float]] = {True: [], False: []}
    for repeat in range(args.repeats):
        for insecure in (repeat % 2 == 0, repeat % 2 != 0):
            clusters[insecure].append(cluster_seconds(insecure))
    tls_s, plain_s = (statistics.median(clusters[k]) for k in (False, True))
    print(f"cluster start + task + close in-process: tls {tls_s:.2f} s, insecure {plain_s:.2f} s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"processes left in the command's group at its exit: {left}")


if __name__ == "__main__":  # LocalCluster's worker processes import this module
    main()
