"""The same sweep on an explicit LocalCluster and on a SLURM cluster: the results are equal.

What it shows:

* how to give ``sweep`` a cluster you build yourself: ``LocalCluster(n_workers=2,
  threads_per_worker=1)`` plus ``Client(cluster)``. Use one thread per worker process:
  GMAT runs one engine per process;
* the same sweep through dask-jobqueue's ``SLURMCluster``: each SLURM job starts Dask
  workers that run GMAT. Only the cluster object changes; the sweep call is the same;
* that both frames are equal: where a run ran does not change its result.

The SLURM part runs only where SLURM answers (``sinfo`` works; ``SLURM_CONF`` names the
configuration if it is not in /etc/slurm); otherwise the example says it skipped SLURM
and why. ``tests/cluster/slurm-up.sh`` starts a private single-node SLURM for trying it.
The SLURMCluster settings below fit that single 2-core node: adapt ``cores``,
``memory``, ``walltime``, ``queue``/``account`` and the scheduler's network interface to
your site.

Run it (from the repository root; GMAT_ROOT unset means the GMAT stand-in engine):

    .venv/bin/python examples/cluster_recipe.py    # into runs/cluster_recipe-<time>/
    SLURM_CONF=/tmp/gmat-sweep-dask-slurm/slurm.conf .venv/bin/python examples/cluster_recipe.py

It writes ``DIR/local/`` and (with SLURM) ``DIR/slurm/`` and ``DIR/slurm-logs/``, and
prints its key numbers as ``key: value`` lines.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys

import pandas as pd
from _common import LEO_SCRIPT, report, report_equal, setup
from dask.distributed import Client, LocalCluster

from gmat_sweep_dask import runs_table, sweep

GRID = {"Sat.SMA": [7000.0 + 40.0 * i for i in range(10)], "Sat.ECC": [0.001, 0.01]}  # 20 runs


def slurm_unavailable() -> str | None:
    """Why SLURM cannot be used here, or None when ``sinfo`` answers."""
    if shutil.which("sinfo") is None:
        return "sinfo is not installed (no SLURM client on this machine)"
    try:
        probe = subprocess.run(
            ["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 30 s"
    if probe.returncode != 0 or not probe.stdout.strip():
        lines = probe.stderr.strip().splitlines()
        hint = "" if os.environ.get("SLURM_CONF") else " (SLURM_CONF is not set)"
        return f"sinfo does not answer{hint}: {lines[-1] if lines else 'no partitions'}"
    return None


def on_local_cluster(out) -> pd.DataFrame:
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        frame = sweep(LEO_SCRIPT, grid=GRID, out=out, client=client, progress=False)
        return frame.compute()


def on_slurm(out, logs) -> tuple[pd.DataFrame, set[str]]:
    from dask_jobqueue import SLURMCluster

    cluster = SLURMCluster(
        cores=1,  # one single-threaded worker process per job (GMAT: one engine per process)
        processes=1,
        memory="1GB",
        walltime="00:15:00",
        # The scheduler runs here; its workers run in SLURM jobs and must reach it. 127.0.0.1
        # works because the SLURM node is this machine: on a real cluster use an interface
        # the compute nodes can reach, e.g. scheduler_options={"interface": "ib0"}.
        scheduler_options={"host": "127.0.0.1", "dashboard_address": ":0"},
        python=sys.executable,  # the workers use this very Python environment
        log_directory=str(logs),
        job_script_prologue=[f"export GMAT_ROOT={os.environ['GMAT_ROOT']}"],
    )
    with cluster, Client(cluster) as client:
        cluster.scale(jobs=2)  # two 1-core jobs; or cluster.adapt(minimum_jobs=0, maximum_jobs=N)
        client.wait_for_workers(1, timeout=300)  # the sweep starts once a job is running
        frame = sweep(LEO_SCRIPT, grid=GRID, out=out, client=client, progress=False)
        # Which workers ran the runs (recorded per run in the manifest).
        slurm_workers = set(client.scheduler_info()["workers"])
        return frame.compute(), slurm_workers


def main() -> None:
    args = setup(__doc__, "cluster_recipe")
    logging.getLogger("distributed").setLevel(logging.ERROR)  # quieter cluster shutdown

    local = on_local_cluster(args.out / "local")
    report("local_runs", local.index.nunique())
    report("local_workers", runs_table(args.out / "local")["worker"].nunique())

    reason = slurm_unavailable()
    if reason is not None:
        report("slurm", "skipped")
        report("slurm_skip_reason", reason)
        return
    frame, workers = on_slurm(args.out / "slurm", args.out / "slurm-logs")
    ran_on = set(runs_table(args.out / "slurm")["worker"].dropna())
    report("slurm", "ran")
    report("slurm_runs", frame.index.nunique())
    report("slurm_workers", len(ran_on))
    report("slurm_runs_on_slurm_workers", ran_on <= workers)
    report_equal(frame, local)


if __name__ == "__main__":
    main()
