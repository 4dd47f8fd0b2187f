"""Interrupt a running sweep, look at what it recorded, resume it, and check nothing was lost.

What it shows, step by step:

1. ``gmat-sweep-dask run ... --workers 1`` is started as a separate process (the same
   command you would type), and interrupted with SIGINT (what Ctrl-C sends) once the
   manifest records at least 5 finished runs. The command exits with code 130 and says how
   to resume.
2. ``gmat-sweep-dask show DIR`` summarises the interrupted sweep from its manifest.
3. In Python, ``runs_table(DIR)`` lists every run (``ok`` or ``missing``), and
   ``open_sweep(DIR)`` gives the lazy frame of the runs that did finish: a partial sweep is
   already usable, and every run in it is complete (checked against step 5).
4. ``Sweep.from_manifest(DIR).resume()`` runs exactly the runs that are not recorded ok.
5. The same grid is swept again, never interrupted, into another directory; the resumed
   frame equals it row for row (one row per ``(run_id, time)``).

Run it (from the repository root; GMAT_ROOT unset means the GMAT stand-in engine):

    .venv/bin/python examples/surviving_a_kill.py               # into runs/surviving_a_kill-<t>/
    .venv/bin/python examples/surviving_a_kill.py --out runs/kill  # DIR: new or empty

It writes ``DIR/killed/`` (interrupted, then resumed) and ``DIR/clean/`` (never
interrupted) and prints its key numbers as ``key: value`` lines.

How long the sweep runs: to have time to interrupt it, the sweep must last a few seconds.
The stand-in engine needs only ~10 ms per run (real GMAT needs ~1 s for this mission), so
on the stand-in the grid has 400 runs over ``Sat.SMA`` (about 5 s on one worker); on real
GMAT the default is 40 runs. ``--runs N`` overrides either. Nothing is slowed down
artificially: the engine does its normal work for every run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import LEO_SCRIPT, local_client, report, report_equal, setup

from gmat_sweep_dask import Manifest, Sweep, open_sweep, runs_table, sweep

SMA_LO, SMA_HI = 6800.0, 7600.0
INTERRUPT_AFTER = 5  # recorded runs


def recorded_runs(sweep_dir: Path) -> int:
    """Runs recorded in the manifest so far (0 before the manifest exists)."""
    path = sweep_dir / "manifest.jsonl"
    return len(Manifest.load(path).entries) if path.exists() else 0


def main() -> None:
    args = setup(
        __doc__,
        "surviving_a_kill",
        {"--runs": {"type": int, "help": "grid size (default: 400 on the stand-in, 40 on GMAT)"}},
    )
    n_runs = args.runs or (400 if args.standin else 40)
    killed, clean = args.out / "killed", args.out / "clean"
    if killed.exists() or clean.exists():
        sys.exit(f"{args.out} already holds this example's sweeps; give a new --out DIR")

    # 1. Start the sweep from the command line and interrupt it.
    command = [
        *(sys.executable, "-m", "gmat_sweep_dask", "run", str(LEO_SCRIPT)),
        *("--grid", f"Sat.SMA={SMA_LO:g}:{SMA_HI:g}:{n_runs}"),
        *("--out", str(killed), "--workers", "1", "--quiet"),
    ]
    print("$", " ".join(command[2:]).replace("gmat_sweep_dask", "gmat-sweep-dask", 1), flush=True)
    # A new session, so the SIGINT below reaches only this command, not this script.
    driver = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while recorded_runs(killed) < INTERRUPT_AFTER:
            if driver.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the sweep ended or stalled before {INTERRUPT_AFTER} runs were recorded")
            time.sleep(0.05)
        driver.send_signal(signal.SIGINT)  # what Ctrl-C in a terminal sends
        _, stderr = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    print(stderr.strip())
    report("interrupted_exit_code", driver.returncode)

    # 2. What the command line says about the interrupted sweep.
    show = subprocess.run(
        [sys.executable, "-m", "gmat_sweep_dask", "show", str(killed)],
        capture_output=True,
        text=True,
        check=True,
    )
    print(show.stdout.rstrip())

    # 3. The manifest and the partial frame, in Python.
    table = runs_table(killed)
    statuses = table["status"].value_counts()
    report("runs", len(table))
    report("recorded_ok", statuses.get("ok", 0))
    report("missing", statuses.get("missing", 0))
    partial = open_sweep(killed).compute()  # only the runs recorded so far
    report("partial_runs", partial.index.nunique())
    report("partial_rows", len(partial))

    # 4. Resume: only the runs not yet recorded ok are run.
    with local_client() as client:
        result = Sweep.from_manifest(killed).resume(client, progress=False)
        report("resume_ran", result.executed)
        # Batches that finished on the worker after the interrupt left commit records;
        # resume folds them into the manifest instead of running them again.
        report("recovered_without_rerun", result.reconciled)
        report("resumed_ok", result.counts.get("ok", 0))

        # 5. The same grid, never interrupted (the CLI's LO:HI:COUNT is np.linspace).
        grid = {"Sat.SMA": np.linspace(SMA_LO, SMA_HI, n_runs)}
        reference = sweep(LEO_SCRIPT, grid=grid, out=clean, client=client, progress=False)
        reference = reference.compute()

    resumed = open_sweep(killed).compute()
    # Every run in the partial frame is whole: its rows equal the same run's clean rows.
    intact = partial.equals(reference.loc[partial.index.unique()])
    report("partial_runs_intact", intact)
    report("resumed_runs", resumed.index.nunique())
    report("resumed_rows", len(resumed))
    report("clean_rows", len(reference))
    keyed = resumed.set_index("time", append=True).index
    report("one_row_per_run_and_time", keyed.is_unique)
    report_equal(resumed, reference)


if __name__ == "__main__":
    main()
