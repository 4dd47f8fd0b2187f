"""Clusters gmat-sweep-dask starts use TLS; other processes cannot use them (issue 19).

The stranger (``tests/cluster/stranger.py``) is a separate process that tries to run a
task through a scheduler: with no credentials, and with TLS trusting the scheduler's
certificate but showing a key of its own. Against an insecure cluster it succeeds (the
threat is real); against the clusters gmat-sweep-dask starts it must be refused.
"""

from __future__ import annotations

import contextlib
import json
import operator
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dask.config
import pytest
from gmat_standin import Gate

from gmat_sweep_dask.execute import security
from gmat_sweep_dask.execute.cluster import ClusterSpec, connect

STRANGER = Path(__file__).resolve().parent / "cluster" / "stranger.py"
ADDRESS = re.compile(r"scheduler ((?:tls|tcp)://\S+) \(")


def stranger(address: str) -> dict:
    """What the stranger achieved against ``address`` (see tests/cluster/stranger.py)."""
    done = subprocess.run(
        [sys.executable, str(STRANGER), address], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_refused(seen: dict) -> None:
    assert seen["reachable"] is True, seen  # the scheduler was there and answered...
    assert seen["plain"].startswith("refused"), seen  # ...but not to a plain client
    assert seen["own-cert"].startswith("refused"), seen  # nor to a TLS one of its own


def this_host_ip() -> str | None:
    """A non-loopback IPv4 address of this machine, or None if it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect
        except OSError:
            return None
        ip = probe.getsockname()[0]
    return None if ip.startswith("127.") or ip == "0.0.0.0" else ip


@dataclass
class Watched:
    """A sweep running in a subprocess, its stderr collected line by line."""

    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @classmethod
    def start(cls, command: list[str], **popen: object) -> Watched:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
        )
        watched = cls(process)
        watched.reader = threading.Thread(target=watched._read, daemon=True)
        watched.reader.start()
        return watched

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def scheduler(self, timeout: float = 240) -> str:
        """The scheduler address from the banner, once the sweep has printed it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = ADDRESS.search(line)
                if match:
                    return match[1]
            if self.process.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.1)
        self.process.kill()
        raise AssertionError("no scheduler banner:\n" + "\n".join(self.lines))

    def finish(self, timeout: float = 300) -> tuple[int, str, str]:
        """Wait for the exit; return (exit code, stdout, stderr)."""
        stdout = self.process.stdout.read()
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=30)
        return code, stdout, "\n".join(self.lines)


def gated_grid_tokens(runs: int = 4) -> list[str]:
    """CLI --grid tokens for ``runs`` stand-in runs (held by a :class:`Gate` in the tests)."""
    return ["--grid", f"Sat.SMA=7000:7900:{runs}"]


@contextlib.contextmanager
def held(watched: Watched, gate: Gate) -> Iterator[None]:
    """The sweep's runs wait at ``gate`` during the block; it opens after (a kill on error)."""
    try:
        yield
    except BaseException:
        watched.process.kill()
        raise
    finally:
        gate.open()


def refused_while_running(watched: Watched, gate: Gate) -> str:
    """Assert a stranger is refused by the sweep's TLS scheduler while a run is in progress."""
    address = watched.scheduler()
    assert address.startswith("tls://"), address
    gate.wait_for_runs(1)  # held at the gate: the sweep is really under way
    assert watched.process.poll() is None, "the sweep ended before the stranger tried"
    seen = stranger(address)
    assert watched.process.poll() is None, "the sweep ended while the stranger tried"
    assert_refused(seen)
    return address


@pytest.mark.parametrize("entry", ["cli", "api"])
def test_a_sweep_without_a_client_refuses_strangers_while_it_runs(
    entry: str, example_script: Path, tmp_path: Path
) -> None:
    out = tmp_path / "s"
    if entry == "cli":
        command = [sys.executable, "-m", "gmat_sweep_dask", "run", str(example_script)]
        command += [*gated_grid_tokens(), "--out", str(out), "--workers", "2"]
    else:
        code = (
            "import sys\n"
            "from gmat_sweep_dask import sweep\n"
            "grid = {'Sat.SMA': [7000.0 + i for i in range(4)]}\n"
            "frame = sweep(sys.argv[1], grid=grid, out=sys.argv[2])\n"
            "print('runs', frame.index.nunique().compute())\n"
        )
        command = [sys.executable, "-c", code, str(example_script), str(out)]
    gate = Gate(tmp_path)
    watched = Watched.start(command, cwd=tmp_path, env=gate.env())
    with held(watched, gate):
        refused_while_running(watched, gate)
    code, stdout, stderr = watched.finish()
    assert code == 0, stderr
    assert ("4 runs: 4 ok" if entry == "cli" else "runs 4") in stdout
    assert "Traceback" not in stderr
    assert not [p for p in out.iterdir() if p.name.startswith(".gmat-sweep-dask-tls-")]


def test_a_started_local_cluster_serves_its_own_client_and_nobody_else(tmp_path: Path) -> None:
    with connect(spec=ClusterSpec(workers=1), announce=False, workdir=tmp_path) as client:
        address = client.scheduler.address
        assert address.startswith("tls://127.0.0.1:")
        assert client.submit(operator.add, 20, 22).result() == 42
        seen = stranger(address)
    assert_refused(seen)
    assert not any(tmp_path.iterdir())  # a local cluster's credentials never touch disk


@pytest.mark.parametrize("how", ["spec", "config"])
def test_insecure_opts_out_and_then_anyone_local_can_run_code(how: str) -> None:
    spec = ClusterSpec(workers=1, insecure=True if how == "spec" else None)
    with (
        dask.config.set({"gmat-sweep-dask.insecure": how == "config"}),
        connect(spec=spec, announce=False) as client,
    ):
        address = client.scheduler.address
        seen = stranger(address)
    assert address.startswith("tcp://127.0.0.1:")
    assert seen["plain"] == "ran", seen


def test_the_banner_names_the_tls_address_and_a_localhost_dashboard(capsys) -> None:
    with connect(spec=ClusterSpec(workers=1)) as client:
        address = client.scheduler.address
    banner = capsys.readouterr().err.splitlines()
    assert banner[0] == (
        f"gmat-sweep-dask: LocalCluster with 1 worker, scheduler {address} "
        "(TLS, credentials made for this sweep)"
    )
    assert banner[1].startswith(
        ("gmat-sweep-dask: dashboard http://127.0.0.1:", "gmat-sweep-dask: no dashboard")
    )


def dashboard_answers(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/health", timeout=10) as reply:
            return reply.status == 200
    except OSError:
        return False


def test_dashboards_of_started_clusters_listen_on_localhost_only(tmp_path: Path) -> None:
    ip = this_host_ip()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address to probe from")
    pytest.importorskip("dask_jobqueue")
    from gmat_sweep_dask.execute.jobqueue import jobqueue_cluster

    with connect(spec=ClusterSpec(workers=1), announce=False) as client:
        port = client.scheduler_info()["services"]["dashboard"]
        assert dashboard_answers("127.0.0.1", port)
        assert not dashboard_answers(ip, port)
    spec = ClusterSpec(kind="slurm", adapt=(0, 0))  # never submits a job
    with jobqueue_cluster(spec, secure=True, workdir=tmp_path / "s") as cluster:
        port = cluster.scheduler.services["dashboard"].port
        assert cluster.scheduler_address.startswith("tls://")
        assert dashboard_answers("127.0.0.1", port)
        assert not dashboard_answers(ip, port)


def test_jobqueue_workers_get_private_credential_files_removed_afterwards(
    tmp_path: Path,
) -> None:
    pytest.importorskip("dask_jobqueue")
    from gmat_sweep_dask.execute.jobqueue import jobqueue_cluster

    out = tmp_path / "new" / "sweep"
    saved = os.umask(0)  # whatever the umask, the credentials are the owner's only
    try:
        spec = ClusterSpec(kind="slurm", adapt=(0, 0))  # never submits a job
        with jobqueue_cluster(spec, secure=True, workdir=out) as cluster:
            script = cluster.job_script()
            (folder,) = out.iterdir()
            files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
            folder_mode = stat.S_IMODE(folder.stat().st_mode)
            key = (folder / "worker.key").read_text()
    finally:
        os.umask(saved)
    assert folder.name.startswith(".gmat-sweep-dask-tls-")
    assert folder_mode == 0o700
    assert files == {"ca.pem": 0o600, "worker.pem": 0o600, "worker.key": 0o600}
    assert "BEGIN PRIVATE KEY" in key and key not in script  # the job script names files only
    assert f"--tls-key {folder}/worker.key" in script
    assert f"--tls-ca-file {folder}/ca.pem" in script
    assert "tls://" in script and "--protocol tls://" in script
    assert not (tmp_path / "new").exists()  # created for the credentials, removed with them


def test_credential_files_leave_an_existing_directory_and_its_contents(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with security.worker_files(security.temporary(), tmp_path) as secured:
        assert Path(secured.tls_worker_key).parent.parent == tmp_path
        assert "\n" in secured.tls_scheduler_key  # the scheduler's half stays in memory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize(
    ("address", "insecure", "warns"),
    [
        ("tcp://203.0.113.7:8786", None, True),
        ("203.0.113.7:8786", None, True),
        ("tcp://203.0.113.7:8786", True, False),
        ("tls://203.0.113.7:8786", None, False),
        ("tcp://127.0.0.1:8786", None, False),
        ("tcp://localhost:8786", None, False),
    ],
)
def test_joining_a_plain_scheduler_elsewhere_warns(address, insecure, warns) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        security.warn_if_plain(address, insecure)
    assert [w.category for w in caught] == ([security.InsecureSchedulerWarning] if warns else [])
    if warns:
        assert "neither encrypted nor authenticated" in str(caught[0].message)


def test_cli_warns_once_when_joining_a_plain_scheduler_on_another_host(
    example_script: Path, tmp_path: Path
) -> None:
    import logging

    from distributed import LocalCluster

    ip = this_host_ip()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address to join through")
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        host="0.0.0.0",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
    ) as brought:
        address = f"tcp://{ip}:{brought.scheduler_address.rsplit(':', 1)[1]}"
        runs = {}
        for name, extra in (("default", []), ("insecure", ["--insecure"])):
            command = [sys.executable, "-m", "gmat_sweep_dask", "run", str(example_script)]
            command += ["--grid", "Sat.SMA=7000:7100:4", "--scheduler", address, "-q"]
            command += ["--out", str(tmp_path / name), *extra]
            runs[name] = subprocess.run(command, capture_output=True, text=True, timeout=180)
    for done in runs.values():
        assert done.returncode == 0, done.stderr
        assert "4 runs: 4 ok" in done.stdout
    warned = [line for line in runs["default"].stderr.splitlines() if line.strip()]
    assert warned == [
        f"gmat-sweep-dask: warning: scheduler {address} is neither encrypted nor "
        "authenticated: anyone who can reach it can run code on its workers as their owner "
        "(use tls:// with --tls-* files; see docs/security.md)"
    ]
    assert runs["insecure"].stderr.strip() == ""


def test_a_jobqueue_banner_says_how_to_tunnel_to_the_dashboard(tmp_path: Path, capsys) -> None:
    pytest.importorskip("bokeh")  # distributed serves the dashboard pages only with bokeh
    pytest.importorskip("dask_jobqueue")
    spec = ClusterSpec(kind="slurm", adapt=(0, 0))  # never submits a job
    with connect(spec=spec, workdir=tmp_path / "s") as client:
        port = client.scheduler_info()["services"]["dashboard"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=30) as reply:
            assert reply.status == 200
    host = socket.gethostname()
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1] == (
        f"gmat-sweep-dask: dashboard on {host} at http://127.0.0.1:{port}/status only; "
        f"from your own machine: ssh -N -L {port}:127.0.0.1:{port} {host}, "
        f"then open http://localhost:{port}/status"
    )
