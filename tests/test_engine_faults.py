"""Engine host faults through the public API: cold restarts, a broken reply path, orphans."""

from __future__ import annotations

import errno
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dask.config
import pandas as pd
import psutil
from distributed import Client, LocalCluster

from gmat_sweep_dask import Manifest, Sweep
from gmat_sweep_dask.design import Samples
from gmat_sweep_dask.execute import isolation
from gmat_sweep_dask.execute.cluster import KEEP_LOST_WORKERS

ENGINE_HOST = "gmat_sweep_dask.execute.enginehost"


def _set_env(values: dict[str, str | None]) -> None:
    """On a worker: change its environment; the next engine host inherits it."""
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    isolation.shutdown()


@contextmanager
def worker_env(client, **values: str) -> Iterator[None]:
    """Set environment variables on every worker (and their next engine hosts)."""
    client.run(_set_env, values)
    try:
        yield
    finally:
        client.run(_set_env, dict.fromkeys(values))


@contextmanager
def own_cluster(workers: int, env: dict[str, str] | None = None) -> Iterator[Client]:
    """A LocalCluster this test may break (its workers' engine hosts, its workers); like
    the clusters gmat-sweep-dask starts, it keeps a killed worker however slowly it restarts."""
    with (
        dask.config.set({"distributed.deploy.lost-worker-timeout": KEEP_LOST_WORKERS}),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
            env=env or {},
        ) as cluster,
        Client(cluster, set_as_default=False) as own,
    ):
        yield own


def in_thread(function, deadline: float = 120.0):
    """Call ``function`` in a thread; its result, or AssertionError if it hangs."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as exc:  # re-raised in the caller
            outcome["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(deadline)
    assert not worker.is_alive(), f"still running after {deadline} s: hung"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def entries_of(out: Path) -> dict[int, dict]:
    return Manifest.load(out / "manifest.jsonl", full=True).entries


def test_an_engine_crash_then_20_runs_at_timeout_1_time_out_none(
    client, fault_script: Path, tmp_path: Path
) -> None:
    """The restarted engine's bootstrap (2 s here, like real GMAT) is not run time."""
    table = pd.DataFrame(
        {"StandinFault.Value": [2] + [0] * 20, "Sat.SMA": [7000.0 + 10 * i for i in range(21)]}
    )
    out = tmp_path / "s"
    with worker_env(client, GMAT_STANDIN_BOOT_DELAY="2"):
        result = Sweep(fault_script, Samples(table), out, timeout=1).run(client, progress=False)
    entries = entries_of(out)
    assert "crashed (signal SIGSEGV)" in entries[0]["error"]
    assert {r: e["error"] for r, e in entries.items() if r and e["status"] != "ok"} == {}
    assert result.counts == {"ok": 20, "failed": 1}


def _engine_hosts_fail_to_start_after(allowed: int) -> None:
    """On a worker: after ``allowed`` engine hosts, starting one fails like fork() at a limit."""
    import subprocess

    class Failing(subprocess.Popen):
        started = 0

        def __init__(self, args, *rest, **options) -> None:
            if ENGINE_HOST in args:
                Failing.started += 1
                if Failing.started > allowed:
                    raise OSError(errno.EAGAIN, os.strerror(errno.EAGAIN))
            super().__init__(args, *rest, **options)

    subprocess.Popen = Failing


def test_an_engine_that_cannot_be_restarted_fails_its_runs_with_the_reason_and_no_hang(
    fault_script: Path, tmp_path: Path
) -> None:
    table = pd.DataFrame(
        {
            "StandinFault.Value": [0, 0, 0, 2] + [0] * 6,
            "Sat.SMA": [7000.0 + 10 * i for i in range(10)],
        }
    )
    out = tmp_path / "s"
    with own_cluster(1) as own:
        own.run(_engine_hosts_fail_to_start_after, 1)
        result = in_thread(
            lambda: Sweep(fault_script, Samples(table), out).run(own, progress=False)
        )
    entries = entries_of(out)
    assert [entries[r]["status"] for r in range(3)] == ["ok"] * 3
    assert "crashed (signal SIGSEGV)" in entries[3]["error"]
    for run_id in range(4, 10):
        assert entries[run_id]["status"] == "failed"
        assert "cannot start the GMAT engine process" in entries[run_id]["error"]
        assert os.strerror(errno.EAGAIN) in entries[run_id]["error"]
    assert result.counts == {"ok": 3, "failed": 7}


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_for_line(path: Path, deadline: float = 120.0) -> str:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if path.exists() and (text := path.read_text()).strip():
            return text.splitlines()[0]
        time.sleep(0.1)
    raise AssertionError(f"nothing in {path} after {deadline} s")


def test_a_sigkilled_worker_leaves_no_engine_host_and_its_scratch_is_removed(
    fault_script: Path, tmp_path: Path
) -> None:
    """The engine host mid-run dies with its worker; a new worker removes the dead scratch."""
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    markers = tmp_path / "markers"
    markers.mkdir()
    run_log = tmp_path / "runs.log"
    env = {
        "TMPDIR": str(scratch_root),
        "GMAT_STANDIN_RUN_LOG": str(run_log),
        "GMAT_STANDIN_FAULT_ONCE": str(markers),  # run 0 hangs once: the retry runs normally
    }
    table = pd.DataFrame({"StandinFault.Value": [3, 0, 0], "Sat.SMA": [7000.0, 7010.0, 7020.0]})
    out = tmp_path / "s"
    with own_cluster(1, env) as own:
        result: dict = {}
        runner = threading.Thread(
            target=lambda: result.update(
                r=Sweep(fault_script, Samples(table), out).run(own, progress=False)
            ),
            daemon=True,
        )
        runner.start()
        host_pid, run_dir = _wait_for_line(run_log).split(" ", 1)  # run 0, hanging in GMAT
        host = psutil.Process(int(host_pid))
        (worker,) = own.run(os.getpid).values()
        assert host.ppid() == worker and ENGINE_HOST in " ".join(host.cmdline())
        assert Path(run_dir).parent == scratch_root
        os.kill(worker, signal.SIGKILL)
        end = time.monotonic() + 5  # the bound: no engine host left within 5 s
        while _alive(host.pid) and time.monotonic() < end:
            time.sleep(0.05)
        hosts = [
            p.pid
            for p in psutil.process_iter(["cmdline"])
            if ENGINE_HOST in " ".join(p.info["cmdline"] or []) and _alive(p.pid)
        ]
        assert host.pid not in hosts, "the engine host outlived its SIGKILLed worker"
        runner.join(120)
        assert not runner.is_alive()
    assert result["r"].counts == {"ok": 3}
    assert entries_of(out)[0]["attempts"] == 2
    assert list(scratch_root.iterdir()) == []  # the killed run's scratch was removed too
