"""Sweeps on a real SLURM through dask-jobqueue (tests/cluster/slurm-up.sh starts one).

Skipped, with the reason, when no SLURM answers (``SLURM_CONF`` unset or ``sinfo``
failing); ``tests/run.sh`` brings a private single-node SLURM up before the suite.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dask.config
import pandas as pd
import pytest
from gmat_standin import Gate
from test_durability import wait_for_entries
from test_security import Watched, gated_grid_tokens, held, refused_while_running

from gmat_sweep_dask import Manifest, Sweep, open_sweep, sweep
from gmat_sweep_dask.design import Grid

pytestmark = pytest.mark.slurm


def _slurm_reason() -> str | None:
    if not os.environ.get("SLURM_CONF"):
        return "SLURM_CONF is not set (run tests/cluster/slurm-up.sh, as tests/run.sh does)"
    if shutil.which("sinfo") is None:
        return "sinfo is not installed"
    probe = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    if probe.returncode != 0 or not probe.stdout.strip():
        return f"sinfo does not answer: {probe.stderr.strip()}"
    return None


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = _slurm_reason()
    if reason:
        pytest.skip(f"no SLURM: {reason}")
    return tmp_path_factory.mktemp("slurm-logs")


def slurm_cluster(
    logs: Path, name: str = "dask-worker", env: dict[str, str] | None = None, **adapt: int
):
    """A 1-core-per-job SLURMCluster whose jobs are named ``name`` (see :func:`jobs`) and
    export ``env`` besides GMAT_ROOT."""
    exports = {"GMAT_ROOT": os.environ["GMAT_ROOT"], **(env or {})}
    from dask_jobqueue import SLURMCluster

    cluster = SLURMCluster(
        job_name=_own(name),
        cores=1,
        processes=1,
        memory="1GB",
        walltime="00:15:00",
        scheduler_options={"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"},
        python=sys.executable,
        log_directory=str(logs),
        job_script_prologue=[f"export {key}={value}" for key, value in exports.items()],
    )
    if adapt:
        cluster.adapt(**adapt, interval="0.5s", wait_count=3)
    return cluster


def _own(name: str) -> str:
    """``name`` made this test session's own: another session running the same tests on
    the shared SLURM (a second checkout's suite) uses other job names."""
    return f"{name}-{os.getpid()}"


def jobs(name: str) -> list[str]:
    """The queued or running SLURM jobs of :func:`slurm_cluster` ``name``: a test's own,
    whatever else the shared SLURM runs (another test's jobs ending, someone else's
    benchmark or suite)."""
    out = subprocess.run(
        ["squeue", "-h", "-n", _own(name), "-o", "%i"], capture_output=True, text=True
    )
    return out.stdout.split()


@pytest.fixture
def slurm_client(slurm: Path) -> Iterator[object]:
    """Two 1-core worker jobs (the node has 2 cores: no other test may hold jobs then)."""
    from distributed import Client

    cluster = slurm_cluster(slurm)
    cluster.scale(jobs=2)
    client = Client(cluster, set_as_default=False)
    client.wait_for_workers(2, timeout=120)
    yield client
    client.close()
    cluster.close()


def compare(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.sort_index(kind="stable"), b.sort_index(kind="stable"))


def test_a_50_run_sweep_on_slurm_equals_local(slurm_client, client, example_script, tmp_path):
    grid = {"Sat.SMA": [7000.0 + 10 * i for i in range(25)], "Sat.ECC": [0.001, 0.01]}
    on_slurm = sweep(
        example_script, grid=grid, out=tmp_path / "slurm", client=slurm_client, progress=False
    ).compute()
    local = sweep(
        example_script, grid=grid, out=tmp_path / "local", client=client, progress=False
    ).compute()
    assert on_slurm.index.nunique() == 50
    compare(on_slurm, local)
    workers = {
        e["worker"]
        for e in Manifest.load(tmp_path / "slurm" / "manifest.jsonl", full=True).entries.values()
    }
    assert workers <= set(slurm_client.scheduler_info()["workers"])


def test_cli_cluster_slurm_without_configuration_is_tls_and_refuses_strangers(
    slurm: Path, example_script: Path, tmp_path: Path
) -> None:
    """``--cluster slurm --jobs 2`` with no jobqueue configuration and no job flags."""
    gate = Gate(tmp_path)  # the worker jobs inherit the environment (sbatch --export=ALL)
    env = gate.env({k: v for k, v in os.environ.items() if not k.startswith("DASK_JOBQUEUE")})
    out = tmp_path / "cli"
    command = [sys.executable, "-m", "gmat_sweep_dask", "run", str(example_script)]
    command += [*gated_grid_tokens(), "--out", str(out), "--cluster", "slurm", "--jobs", "2"]
    watched = Watched.start(command, env=env, cwd=tmp_path)
    with held(watched, gate):
        refused_while_running(watched, gate)
        (credentials,) = [p for p in out.iterdir() if p.name.startswith(".gmat-sweep-dask-tls-")]
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o700
        assert {stat.S_IMODE(p.stat().st_mode) for p in credentials.iterdir()} == {0o600}
    code, stdout, stderr = watched.finish()
    assert code == 0, stderr
    assert "4 runs: 4 ok" in stdout
    lines = stderr.splitlines()
    chosen = [line for line in lines if "slurm jobs, each" in line]
    assert chosen == [
        "gmat-sweep-dask: 2 slurm jobs, each 1 core, 1 worker process, 2GB memory, "
        "walltime 00:30:00 (cores and memory: gmat-sweep-dask's defaults; "
        "set --cores, --memory or jobqueue.yaml)"
    ]
    (dashboard,) = [line for line in lines if "dashboard" in line]
    assert "ssh -N -L" in dashboard or "no dashboard" in dashboard
    assert not [p for p in out.iterdir() if p.name.startswith(".gmat-sweep-dask-tls-")]
    assert open_sweep(out).compute().index.nunique() == 4


def test_default_job_resources_reach_the_job_script_and_tls_workers_join(
    slurm: Path, tmp_path: Path
) -> None:
    from distributed import Client

    from gmat_sweep_dask.execute.cluster import ClusterSpec
    from gmat_sweep_dask.execute.jobqueue import jobqueue_cluster

    spec = ClusterSpec(kind="slurm", jobs=2, options={"log_directory": str(slurm)})
    with (
        dask.config.set({f"jobqueue.slurm.{key}": None for key in ("cores", "memory")}),
        jobqueue_cluster(spec, secure=True, workdir=tmp_path / "s") as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        script = cluster.job_script()
        client.wait_for_workers(2, timeout=240)
        workers = client.scheduler_info()["workers"].values()
        assert all(w["nthreads"] == 1 for w in workers)
        assert all(1.8e9 < w["memory_limit"] <= 2e9 for w in workers)  # 2GB per job
        assert client.submit(sum, [20, 22]).result() == 42
    assert "#SBATCH --cpus-per-task=1" in script and "#SBATCH --mem=2G" in script
    assert "--nthreads 1" in script and "--nworkers" not in script  # one process per job
    assert "tls://" in script and "--tls-key" in script


def test_a_scancelled_worker_job_loses_no_completed_run(
    slurm: Path, client, fault_script: Path, tmp_path: Path
) -> None:
    from distributed import Client

    grid = Grid({"Sat.SMA": [7000.0 + i for i in range(40)]})
    gate = Gate(tmp_path, free=4)  # four single-run tasks complete, then both jobs hold a run
    cluster = slurm_cluster(slurm, name="gsd-scancel", env=gate.env({}))
    cluster.scale(jobs=2)
    with (
        cluster,
        Client(cluster, set_as_default=False) as on_slurm,
        dask.config.set(Gate.SINGLE_RUN_TASKS),
    ):
        on_slurm.wait_for_workers(2, timeout=120)
        job = Sweep(fault_script, grid, tmp_path / "killed")
        result: dict = {}
        runner = threading.Thread(target=lambda: result.update(r=job.run(on_slurm, progress=False)))
        runner.start()
        manifest = tmp_path / "killed" / "manifest.jsonl"
        try:
            wait_for_entries(manifest, 4, timeout=240)  # jobs may queue behind others
            gate.wait_for_runs(6)  # one engine per worker, one run at a time: both are busy
            done = Manifest.load(manifest, full=True).entries
            victim = sorted(jobs("gsd-scancel"))[0]
            subprocess.run(["scancel", victim], check=True)
        finally:
            gate.open()
        runner.join(timeout=240)
        assert not runner.is_alive()
    if result["r"].failed:  # the cancelled job's batch ran out of retries: resume finishes it
        Sweep.from_manifest(tmp_path / "killed").resume(client, progress=False)
    recovered = Manifest.load(manifest, full=True)
    assert recovered.status_counts() == {"ok": 40}
    assert {r: recovered.entries[r]["ended"] for r in done} == {
        r: e["ended"] for r, e in done.items()
    }  # nothing completed before the kill was lost or redone
    clean = Sweep(fault_script, grid, tmp_path / "clean")
    clean.run(client, progress=False)
    compare(open_sweep(tmp_path / "killed").compute(), open_sweep(tmp_path / "clean").compute())


def test_adapt_scales_up_from_zero_and_back_down(slurm: Path, example_script, tmp_path) -> None:
    from distributed import Client

    assert not jobs("gsd-adapt")
    with (
        slurm_cluster(slurm, name="gsd-adapt", minimum_jobs=0, maximum_jobs=2) as cluster,
        Client(cluster, set_as_default=False) as adaptive,
    ):
        frame = sweep(
            example_script,
            grid={"Sat.SMA": [7000.0 + i for i in range(20)]},
            out=tmp_path / "adapt",
            client=adaptive,
            progress=False,
        )
        assert frame.compute().index.nunique() == 20
        deadline = time.monotonic() + 120
        while jobs("gsd-adapt") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not jobs("gsd-adapt"), "idle SLURM jobs were not released after the sweep drained"
    logging.getLogger(__name__).info("adapt scaled to zero")
