"""The same sweep on an explicit LocalCluster and on a SLURM cluster: the results are equal.

What it shows:

* how to give ``sweep`` a cluster you build yourself: ``LocalCluster(n_workers=2,
  threads_per_worker=1, security=True)`` plus ``Client(cluster)``. Use one thread per
  worker process: GMAT runs one engine per process. ``security=True`` gives the cluster
  TLS credentials of its own, so no other user of the machine can connect to it and run
  code as you (gmat-sweep-dask does this for the clusters it starts; for yours, you do);
* the same sweep through dask-jobqueue's ``SLURMCluster``: each SLURM job starts Dask
  workers that run GMAT. Only the cluster object changes; the sweep call is the same.
  ``security=True`` plus ``shared_temp_directory`` hands the workers their credentials
  as files only you can read, in a directory the jobs can see;
* that both frames are equal: where a run ran does not change its result.

The SLURM part runs only when asked (``--slurm``): it submits two 1-core jobs to the
SLURM that ``sinfo`` answers for (``SLURM_CONF`` names its configuration if it is not in
/etc/slurm), and stops with the reason if none answers. ``tests/cluster/slurm-up.sh``
starts a private single-node SLURM for trying it. The SLURMCluster settings below fit
that single 2-core node: adapt ``cores``, ``memory``, ``walltime``, ``queue``/``account``
and the scheduler's network interface to your site.

Run it (from the repository root; GMAT_ROOT unset means the GMAT stand-in engine):

    .venv/bin/python examples/cluster_recipe.py             # LocalCluster only
    eval "$(tests/cluster/slurm-up.sh | tail -n 1)"         # or use your site's SLURM
    .venv/bin/python examples/cluster_recipe.py --slurm     # LocalCluster and SLURM

Without ``--out`` it writes into a new ``runs/cluster_recipe-<time>/``.

It writes ``DIR/local/`` and (with ``--slurm``) ``DIR/slurm/`` and ``DIR/slurm-logs/``,
and prints its key numbers as ``key: value`` lines.
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
        LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address="127.0.0.1:0", security=True
        ) as cluster,
        Client(cluster) as client,
    ):
        frame = sweep(LEO_SCRIPT, grid=GRID, out=out, client=client, progress=False)
        return frame.compute()


def on_slurm(out, logs) -> tuple[pd.DataFrame, set[str]]:
    from dask_jobqueue import SLURMCluster

    logs.mkdir(parents=True, exist_ok=True)
    cluster = SLURMCluster(
        cores=1,  # one single-threaded worker process per job (GMAT: one engine per process)
        processes=1,
        memory="1GB",
        walltime="00:15:00",
        # The scheduler runs here; its workers run in SLURM jobs and must reach it. 127.0.0.1
        # works because the SLURM node is this machine: on a real cluster use an interface
        # the compute nodes can reach, e.g. scheduler_options={"interface": "ib0"}.
        scheduler_options={"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"},
        security=True,  # TLS credentials made for this cluster...
        shared_temp_directory=str(logs),  # ...handed to the jobs as 0600 files here
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
    slurm = {"action": "store_true", "help": "also run the sweep on this machine's SLURM"}
    args = setup(__doc__, "cluster_recipe", {"--slurm": slurm})
    logging.getLogger("distributed").setLevel(logging.ERROR)  # quieter cluster shutdown

    local = on_local_cluster(args.out / "local")
    report("local_runs", local.index.nunique())
    report("local_workers", runs_table(args.out / "local")["worker"].nunique())

    if not args.slurm:
        report("slurm", "skipped")
        report("slurm_skip_reason", "not asked (--slurm runs it on this machine's SLURM)")
        return
    reason = slurm_unavailable()
    if reason is not None:
        raise SystemExit(f"--slurm: {reason}")
    frame, workers = on_slurm(args.out / "slurm", args.out / "slurm-logs")
    ran_on = set(runs_table(args.out / "slurm")["worker"].dropna())
    report("slurm", "ran")
    report("slurm_runs", frame.index.nunique())
    report("slurm_workers", len(ran_on))
    report("slurm_runs_on_slurm_workers", ran_on <= workers)
    report_equal(frame, local)


if __name__ == "__main__":
    main()
