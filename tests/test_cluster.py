"""Cluster choice: jobqueue options, TLS schedulers, CLI cluster flags."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import dask.config
import pytest
from click.testing import CliRunner

from gmat_sweep_dask.cli import main
from gmat_sweep_dask.execute.cluster import ClusterSpec
from gmat_sweep_dask.execute.jobqueue import DEFAULT_MEMORY, describe, jobqueue_kwargs

NO_JOB_CONFIG = {
    f"jobqueue.{kind}.{key}": None
    for kind in ("slurm", "pbs")
    for key in ("cores", "memory", "processes")
}


def test_jobqueue_kwargs_map_flags_and_forward_gmat_root(monkeypatch) -> None:
    monkeypatch.setenv("GMAT_ROOT", "/opt/gmat-R2026a")
    spec = ClusterSpec(
        kind="slurm",
        cores=4,
        memory="8GB",
        walltime="01:00:00",
        queue="q",
        account="acct",
        job_extra=("--exclusive",),
    )
    kwargs = jobqueue_kwargs(spec)
    assert kwargs["cores"] == 4 and kwargs["processes"] == 4
    assert kwargs["memory"] == "8GB" and kwargs["walltime"] == "01:00:00"
    assert kwargs["queue"] == "q" and kwargs["account"] == "acct"
    assert kwargs["job_extra_directives"] == ["--exclusive"]
    assert "export GMAT_ROOT=/opt/gmat-R2026a" in kwargs["job_script_prologue"]
    assert kwargs["python"] == sys.executable


def test_without_configuration_a_job_is_one_core_one_process_and_the_default_memory(
    monkeypatch,
) -> None:
    pytest.importorskip("dask_jobqueue")
    monkeypatch.delenv("GMAT_ROOT", raising=False)
    with dask.config.set(NO_JOB_CONFIG):
        kwargs = jobqueue_kwargs(ClusterSpec(kind="pbs"))
        line = describe(ClusterSpec(kind="pbs", jobs=2))
    assert DEFAULT_MEMORY == "2GB"  # the value docs/cluster.md and the README state
    assert {k: kwargs[k] for k in ("cores", "processes", "memory")} == {
        "cores": 1,
        "processes": 1,
        "memory": "2GB",
    }
    assert kwargs["scheduler_options"] == {"dashboard_address": "127.0.0.1:0"}
    assert line == (
        "2 pbs jobs, each 1 core, 1 worker process, 2GB memory, walltime 00:30:00 "
        "(cores and memory: gmat-sweep-dask's defaults; set --cores, --memory or jobqueue.yaml)"
    )


def test_jobqueue_configuration_beats_our_defaults_and_flags_beat_both() -> None:
    dask_jobqueue = pytest.importorskip("dask_jobqueue")
    configured = {
        **NO_JOB_CONFIG,
        "jobqueue.slurm.cores": 4,
        "jobqueue.slurm.memory": "8GB",
        "jobqueue.slurm.scheduler-options": {"dashboard_address": ":8790"},
        "jobqueue.slurm.job-script-prologue": ["module load gmat"],
        "jobqueue.slurm.python": "/opt/site/python3",
    }
    with dask.config.set(configured):
        from_config = jobqueue_kwargs(ClusterSpec(kind="slurm"))
        line = describe(ClusterSpec(kind="slurm", adapt=(0, 3)))
        flagged = jobqueue_kwargs(ClusterSpec(kind="slurm", cores=2, memory="3GB"))
        with dask_jobqueue.SLURMCluster(**from_config) as cluster:
            config_script = cluster.job_script()
        with dask_jobqueue.SLURMCluster(**flagged) as cluster:
            flag_script = cluster.job_script()
        with dask.config.set({"jobqueue.slurm.processes": 2}):
            fewer = jobqueue_kwargs(ClusterSpec(kind="slurm"))
    assert "cores" not in from_config and "memory" not in from_config  # jobqueue reads them
    assert from_config["processes"] == 4  # one single-threaded worker per configured core
    assert from_config["scheduler_options"] == {"dashboard_address": ":8790"}
    assert "processes" not in fewer  # a configured process count is kept
    assert from_config["job_script_prologue"][0] == "module load gmat"
    assert "python" not in from_config  # the configured interpreter is kept
    assert "/opt/site/python3 -m distributed.cli.dask_worker" in config_script
    assert line == (
        "0 to 3 slurm jobs (adaptive), each 4 cores, 4 worker processes, 8GB memory, "
        "walltime 00:30:00"
    )
    assert "#SBATCH --cpus-per-task=4" in config_script and "#SBATCH --mem=8G" in config_script
    assert "--nworkers 4" in config_script and "--nthreads 1" in config_script
    assert "#SBATCH --cpus-per-task=2" in flag_script and "#SBATCH --mem=3G" in flag_script
    assert "--nworkers 2" in flag_script and "--nthreads 1" in flag_script


def test_slurm_job_script_carries_the_options(monkeypatch) -> None:
    dask_jobqueue = pytest.importorskip("dask_jobqueue")
    monkeypatch.setenv("GMAT_ROOT", "/opt/gmat-R2026a")
    spec = ClusterSpec(
        kind="slurm",
        cores=2,
        memory="4GB",
        walltime="00:30:00",
        account="acct",
        job_extra=("--exclusive",),
    )
    with dask_jobqueue.SLURMCluster(**jobqueue_kwargs(spec)) as cluster:
        script = cluster.job_script()
    assert "#SBATCH -A acct" in script
    assert "#SBATCH --exclusive" in script
    assert "#SBATCH -t 00:30:00" in script
    assert "export GMAT_ROOT=/opt/gmat-R2026a" in script
    assert "--nworkers 2" in script and "--nthreads 1" in script


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--adapt", "5"], "--adapt '5'"),
        (["--adapt", "3:1"], "--adapt '3:1'"),
        (["--tls-cert", __file__], "--tls-ca-file"),
    ],
)
def test_bad_cluster_flags_exit_2(args, needle, example_script) -> None:
    result = CliRunner().invoke(
        main, ["run", str(example_script), "--grid", "Sat.SMA=7000", "--out", "o", *args]
    )
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert not Path("o").exists()


def _self_signed(tmp_path: Path) -> tuple[str, str]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def test_cli_joins_a_tls_secured_scheduler(example_script: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster
    from distributed.security import Security

    cert, key = _self_signed(tmp_path)
    security = Security(
        tls_ca_file=cert,
        tls_client_cert=cert,
        tls_client_key=key,
        tls_scheduler_cert=cert,
        tls_scheduler_key=key,
        tls_worker_cert=cert,
        tls_worker_key=key,
        require_encryption=True,
    )
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        protocol="tls://",
        host="127.0.0.1",
        security=security,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        base = [
            sys.executable,
            "-m",
            "gmat_sweep_dask",
            "run",
            str(example_script),
            "--grid",
            "Sat.SMA=7000,7100",
            "--scheduler",
            address,
            "-q",
        ]
        plain = subprocess.run(
            [*base, "--out", str(tmp_path / "plain")],
            capture_output=True,
            text=True,
            timeout=120,
            env=os.environ.copy(),
        )
        assert plain.returncode == 2  # no certificates: a clean one-line refusal
        assert "cannot connect to scheduler tls://" in plain.stderr
        assert "Traceback" not in plain.stderr
        secured = subprocess.run(
            [
                *base,
                "--out",
                str(tmp_path / "tls"),
                "--tls-ca-file",
                cert,
                "--tls-cert",
                cert,
                "--tls-key",
                key,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=os.environ.copy(),
        )
    assert secured.returncode == 0, secured.stderr
    assert "2 runs: 2 ok" in secured.stdout


def test_workers_without_gmat_fail_the_check_before_anything_is_written(
    example_script: Path, tmp_path: Path
) -> None:
    from distributed import Client, LocalCluster

    from gmat_sweep_dask import GmatMissingError, sweep

    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
            env={"GMAT_ROOT": str(tmp_path / "no-gmat-here")},
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
        pytest.raises(
            GmatMissingError,
            match=r"not installed on the workers \(GMAT_ROOT env var: .*no-gmat-here: does not exi",
        ),
    ):
        sweep(
            example_script,
            grid={"Sat.SMA": [7000]},
            out=tmp_path / "s",
            client=client,
            progress=False,
        )
    assert not (tmp_path / "s").exists()


def test_a_worker_that_cannot_see_the_sweep_dir_is_a_clear_error(tmp_path: Path) -> None:
    from gmat_sweep_dask.errors import SweepDirError
    from gmat_sweep_dask.execute.task import check_shared

    with pytest.raises(SweepDirError, match="share a file system"):
        check_shared(tmp_path / "not-shared")


@pytest.mark.parametrize(
    ("kind", "directive"), [("sge", "#$ -P acct"), ("lsf", '#BSUB -P "acct"'), ("pbs", "-A acct")]
)
def test_account_reaches_each_scheduler_under_its_own_name(kind, directive) -> None:
    dask_jobqueue = pytest.importorskip("dask_jobqueue")
    spec = ClusterSpec(kind=kind, cores=1, memory="1GB", account="acct")
    cls = getattr(dask_jobqueue, f"{kind.upper()}Cluster")
    with cls(**jobqueue_kwargs(spec)) as cluster:
        assert directive in cluster.job_script()


def test_cli_without_gmat_is_one_line_and_exit_2(example_script: Path, tmp_path: Path) -> None:
    env = {**os.environ, "GMAT_ROOT": str(tmp_path / "no-gmat-here")}
    command = [sys.executable, "-m", "gmat_sweep_dask", "run", str(example_script)]
    command += ["--grid", "Sat.SMA=7000,7100", "--out", str(tmp_path / "s"), "--workers", "1", "-q"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no-gmat-here" in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "s").exists()
