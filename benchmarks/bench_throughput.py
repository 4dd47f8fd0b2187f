"""Throughput: gmat-sweep-dask vs gmat-sweep 0.6.0 on the same engine, cluster and machine.

Scenarios (TARGETS.md P1/P2): a fast engine (stand-in, no delay, N=200) and an
engine-dominated one (stand-in with a 50 ms delay per run, N=100), both on one warm
2-worker LocalCluster shared by every tool. Tools, in rotating order each repeat:

* ``gsd``           gmat-sweep-dask ``sweep()`` (isolated warm engine hosts, the default)
* ``gsd+timeout``   the default plus ``timeout=60`` (never reached: the cost of the watch)
* ``gsd-inproc``    gmat-sweep-dask with ``isolate=False`` (GMAT inside the worker)
* ``gsd-lazy``      ``gsd`` without reading the frame (the part before the user reads)
* ``gs-dask``       gmat-sweep 0.6.0 ``DaskPool(client=client)``
* ``gs-joblib``     gmat-sweep 0.6.0 ``LocalJoblibPool(max_workers=2)``
* ``dask-floor``    no sweep tool: plain Dask runs the same runs through gmat-run, one task
  per worker, and writes and reads back nothing (the floor any Dask-based tool has here)
* ``proc-floor``    no Dask either: W warm plain processes (a ``ProcessPoolExecutor``) run
  the same shares; its ``wall / ideal`` is what this machine's cores give two engines at
  once (no orchestrator can do better than that here)

Every tool is timed end to end as a user sees it: from the ``sweep()`` call until the
results have been read once, the end-of-sweep work (our compaction) included. gmat-sweep's
``sweep()`` ends by loading every result into pandas; ours returns a lazy frame, which
``gsd*`` tools read once with ``.compute()`` (on the same client) inside the clock. ``t``
is one warm run straight through gmat-run in one process (load, override, run, parse the
report), the ideal wall time is ``N·t/W``; ``of ideal`` is the fraction of it reached.
``steal`` is the share of CPU time the hypervisor gave to others during a tool's runs
(``/proc/stat``; 0 on bare metal).

    python benchmarks/bench_throughput.py [--repeats 5] [--workers 2] [--direct]

Uses ``GMAT_ROOT`` if it names a real GMAT, else the stand-in engine in
``tests/gmat_standin/root``. On a real GMAT (TARGETS.md P2r; ``tests/gmat_real/build.sh``
builds one) the scenarios are the reference mission (``tests/gmat_real/scripts/
reference.script``, 60 s of a LEO; ~5 ms a run on the R2026a built without SPICE) and
the same mission propagated for 2 days (``real-2-days``: ~40 ms a run, the engine time
TARGETS.md quotes for P2r on a SPICE build), N=200 over ``Sat.SMA`` each.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from itertools import product
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STANDIN = REPO / "tests" / "gmat_standin" / "root"
SCRIPT = REPO / "tests" / "gmat_standin" / "scripts" / "leo_faults.script"


def one_run(script: Path, overrides: dict, working_dir: Path) -> None:
    """One run straight through gmat-run: load, override, run, parse every report."""
    from gmat_run import Mission

    mission = Mission.load(script)
    for key, value in overrides.items():
        mission[key] = value
    results = mission.run(working_dir=working_dir)
    for name in results.reports:
        results.reports[name]


def engine_time(script: Path, overrides: dict, runs: int = 40) -> float:
    """Median seconds of one warm :func:`one_run` in-process."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs + 3):
            start = time.perf_counter()
            one_run(script, overrides, Path(tmp) / str(i))
            times.append(time.perf_counter() - start)
    return statistics.median(times[3:])


def floor_runs(script: Path, runs: list[dict]) -> int:
    """``dask-floor``'s task: :func:`one_run` of each of ``runs`` (their overrides)."""
    with tempfile.TemporaryDirectory() as tmp:
        for i, overrides in enumerate(runs):
            one_run(script, overrides, Path(tmp) / str(i))
    return len(runs)


def warm_process(script: str) -> None:
    """``proc-floor``'s pool initializer: load GMAT with one run, as a warm worker has."""
    os.environ.setdefault("GMAT_ROOT", str(STANDIN))
    floor_runs(Path(script), [{}])


def cpu_ticks() -> tuple[int, int]:
    """(steal, total) CPU ticks of the machine so far, from ``/proc/stat``."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return 0, 0
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def grid(n: int, extra: dict) -> dict:
    return {"Sat.SMA": [7000.0 + 400.0 * i / max(n - 1, 1) for i in range(n)], **extra}


def run_tool(tool: str, client, script: Path, axes: dict, out: Path, workers: int, pools) -> float:
    """Wall seconds of one sweep with ``tool`` into a fresh ``out``."""
    start = time.perf_counter()
    if tool.endswith("-floor"):
        runs = [dict(zip(axes, values, strict=True)) for values in product(*axes.values())]
        shares = [runs[i::workers] for i in range(workers)]
        if tool == "dask-floor":
            client.gather(client.map(floor_runs, [script] * workers, shares, pure=False))
        else:
            list(pools(script).map(floor_runs, [script] * workers, shares))
    elif tool.startswith("gsd"):
        from gmat_sweep_dask import sweep

        frame = sweep(
            script,
            grid=axes,
            out=out,
            client=client,
            progress=False,
            isolate=tool != "gsd-inproc",
            timeout=60.0 if tool == "gsd+timeout" else None,
        )
        if tool != "gsd-lazy":
            frame.compute()
    else:
        from gmat_sweep import sweep as gs_sweep
        from gmat_sweep.backends.dask import DaskPool
        from gmat_sweep.backends.joblib import LocalJoblibPool

        pool = DaskPool(client=client) if tool == "gs-dask" else LocalJoblibPool(workers)
        try:
            gs_sweep(script, grid=axes, backend=pool, out=out, progress=False)
        finally:
            pool.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    tools = "gsd,gsd-lazy,gsd+timeout,gsd-inproc,gs-dask,gs-joblib,dask-floor,proc-floor"
    parser.add_argument("--tools", default=tools)
    parser.add_argument(
        "--direct",
        action="store_true",
        help="a client that gathers results straight from the workers (direct_to_workers)",
    )
    args = parser.parse_args()
    real = os.environ.get("GMAT_ROOT") and Path(os.environ["GMAT_ROOT"]).resolve() != STANDIN
    if not real:
        os.environ["GMAT_ROOT"] = str(STANDIN)
    scenarios = [
        ("fast", 200, {}, SCRIPT),
        ("engine-bound", 100, {"StandinDelay.Value": [0.05]}, SCRIPT),
    ]
    days = Path(tempfile.mkdtemp()) / "reference_2_days.script"
    if real:
        reference = REPO / "tests" / "gmat_real" / "scripts" / "reference.script"
        text = reference.read_text()
        stop = "{Sat.ElapsedSecs = 60}"
        assert stop in text, f"{reference} no longer propagates {stop}"
        days.write_text(text.replace(stop, "{Sat.ElapsedDays = 2}"))
        scenarios = [("real", 200, {}, reference), ("real-2-days", 200, {}, days)]
    tools = args.tools.split(",")

    from distributed import Client, LocalCluster

    print(
        f"engine: {'real GMAT at ' + os.environ['GMAT_ROOT'] if real else 'stand-in'}; "
        f"{args.workers} workers; median of {args.repeats}",
        flush=True,
    )
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster, direct_to_workers=args.direct or None) as client,
        tempfile.TemporaryDirectory() as tmp,
        ExitStack() as stack,
    ):
        warm_pools: dict[Path, ProcessPoolExecutor] = {}

        def pools(script: Path) -> ProcessPoolExecutor:
            """``proc-floor``'s warm processes for ``script`` (one pool per scenario)."""
            if script not in warm_pools:
                pool = ProcessPoolExecutor(
                    args.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=warm_process,
                    initargs=(str(script),),
                )
                warm_pools[script] = stack.enter_context(pool)
                list(pool.map(time.sleep, [0.5] * args.workers))  # every process started
            return warm_pools[script]

        for name, n, extra, script in scenarios:
            one = {k: v[0] for k, v in extra.items()}
            t = engine_time(script, {"Sat.SMA": 7100.0, **one})
            ideal = n * t / args.workers
            axes = grid(n, extra)
            for tool in tools:  # warm every tool's worker-side state, untimed
                run_tool(
                    tool,
                    client,
                    script,
                    grid(4, extra),
                    Path(tmp) / f"warm-{name}-{tool}",
                    args.workers,
                    pools,
                )
            walls: dict[str, list[float]] = {tool: [] for tool in tools}
            steal = dict.fromkeys(tools, (0, 0))
            for rep in range(args.repeats):
                order = tools[rep % len(tools) :] + tools[: rep % len(tools)]
                for tool in order:
                    out = Path(tmp) / f"{name}-{tool}-{rep}"
                    before = cpu_ticks()
                    wall = run_tool(tool, client, script, axes, out, args.workers, pools)
                    walls[tool].append(wall)
                    after = cpu_ticks()
                    steal[tool] = tuple(
                        s + a - b for s, a, b in zip(steal[tool], after, before, strict=True)
                    )
            load = os.getloadavg()[0]
            print(f"\n## {name}: N={n}, t={t * 1000:.1f} ms, ideal N·t/W={ideal:.3f} s")
            print(f"(1-min load average after: {load:.2f})")
            print(
                "| tool | median wall s | runs/s | wall / ideal | of ideal | runs/s vs gs-dask "
                "| steal |"
            )
            print("|---|---|---|---|---|---|---|")
            base = statistics.median(walls["gs-dask"]) if "gs-dask" in walls else None
            for tool in tools:
                wall = statistics.median(walls[tool])
                ratio = f"{base / wall:.2f}×" if base else "-"
                stolen, total = steal[tool]
                print(
                    f"| {tool} | {wall:.3f} | {n / wall:.1f} | {wall / ideal:.3f} | "
                    f"{ideal / wall:.0%} | {ratio} | {stolen / max(total, 1):.1%} |"
                )
            sys.stdout.flush()


if __name__ == "__main__":
    main()
