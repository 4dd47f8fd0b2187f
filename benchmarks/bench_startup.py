"""Start-up cost of TLS: a 10-run CLI sweep, process launch to exit, with and without TLS.

Each repeat launches ``gmat-sweep-dask run examples/leo.script --grid Sat.SMA=...:10`` as
a fresh process (its own LocalCluster, 2 workers) into a fresh directory, once with the
default (a TLS-secured cluster with credentials made for this sweep) and once with
``--insecure`` (plain TCP on 127.0.0.1); the order alternates between repeats. Prints the
median of each and their ratio; then, in this process, the cost of making the credentials
alone and of starting and closing the sweep's LocalCluster with and without TLS (the part
of the start-up TLS changes); and checks that nothing the sweeps started is left running.

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
MODES = {"tls": [], "insecure": ["--insecure"]}


def one(
    out: Path, runs: int, extra: list[str], env: dict[str, str], cwd: Path | None = None
) -> float:
    """Wall seconds from launching one CLI sweep (from ``cwd``) to its exit (must be 0)."""
    command = [sys.executable, "-m", "gmat_sweep_dask", "run", str(SCRIPT), "-q"]
    command += ["--grid", f"Sat.SMA=7000:7900:{runs}", "--workers", "2", "--out", str(out)]
    start = time.perf_counter()
    done = subprocess.run([*command, *extra], env=env, capture_output=True, text=True, cwd=cwd)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"sweep failed ({done.returncode}): {done.stderr.strip()}")
    return wall


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
    """Seconds to start the 2-worker LocalCluster a sweep starts, run one task, close it."""
    from gmat_sweep_dask.execute.cluster import ClusterSpec, connect

    start = time.perf_counter()
    with connect(spec=ClusterSpec(workers=2, insecure=insecure), announce=False) as client:
        client.submit(sum, [1, 2]).result()
    return time.perf_counter() - start


def leftovers(marker: str) -> list[str]:
    """Processes whose command line mentions ``marker`` (this benchmark's directory)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(pid)
    return found


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
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        for repeat in range(args.repeats):
            order = list(modes) if repeat % 2 == 0 else list(reversed(modes))
            for mode in order:
                cwd = args.baseline if mode == "baseline" else None
                wall = one(Path(tmp) / f"{mode}-{repeat}", args.runs, modes[mode], env, cwd)
                times[mode].append(wall)
                print(f"repeat {repeat} {mode:>8}: {wall:.2f} s", flush=True)
        left = leftovers(tmp)
    for mode, walls in times.items():
        print(f"{mode}: median {statistics.median(walls):.2f} s of {walls}")
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
    print(f"processes left running: {len(left)}")


if __name__ == "__main__":  # LocalCluster's worker processes import this module
    main()
