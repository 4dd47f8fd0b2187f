"""Durability end to end: engine crash and hang isolation, driver kills, resume equality."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dask.config
import pandas as pd
import pytest

from gmat_sweep_dask import Manifest, Sweep, open_sweep
from gmat_sweep_dask.design import Grid, Samples
from gmat_sweep_dask.execute import isolation
from gmat_sweep_dask.execute.cluster import KEEP_LOST_WORKERS


def frame_of(out: Path) -> pd.DataFrame:
    return open_sweep(out).compute()


@pytest.fixture
def transient_faults(client, tmp_path: Path) -> Iterator[Path]:
    """Make each stand-in fault code fire once (GMAT_STANDIN_FAULT_ONCE) on every worker."""
    markers = tmp_path / "fault-markers"
    markers.mkdir()

    def set_env(value: str | None) -> None:
        if value is None:
            os.environ.pop("GMAT_STANDIN_FAULT_ONCE", None)
        else:
            os.environ["GMAT_STANDIN_FAULT_ONCE"] = value
        isolation.shutdown()  # the next engine process inherits the new environment

    client.run(set_env, str(markers))
    yield markers
    client.run(set_env, None)


def test_a_crash_and_a_hang_fail_one_run_each_then_resume_equals_a_clean_sweep(
    client, fault_script: Path, tmp_path: Path, transient_faults: Path
) -> None:
    before = client.run(os.getpid)
    table = pd.DataFrame(
        {"StandinFault.Value": [0, 2, 0, 3, 0], "Sat.SMA": [7000.0 + 10 * i for i in range(5)]}
    )
    out = tmp_path / "s"
    first = Sweep(fault_script, Samples(table), out, timeout=3).run(client, progress=False)
    assert first.counts == {"ok": 3, "failed": 2}
    entries = Manifest.load(out / "manifest.jsonl", full=True).entries
    assert "crashed (signal SIGSEGV)" in entries[1]["error"]
    assert entries[3]["error"].startswith("timeout")
    assert client.run(os.getpid) == before  # no Dask worker died
    done = {r: entries[r]["ended"] for r in (0, 2, 4)}
    resumed = Sweep.from_manifest(out).resume(client, progress=False)
    assert resumed.executed == 2 and resumed.counts == {"ok": 5}
    final = Manifest.load(out / "manifest.jsonl", full=True).entries
    assert {r: final[r]["ended"] for r in done} == done  # nothing completed was redone
    clean = tmp_path / "clean"  # the faults have fired: this sweep runs clean
    Sweep(fault_script, Samples(table), clean, timeout=3).run(client, progress=False)
    pd.testing.assert_frame_equal(frame_of(out), frame_of(clean))


def test_a_torn_manifest_tail_is_repaired_and_resume_equals_a_clean_sweep(
    client, example_script: Path, tmp_path: Path
) -> None:
    grid = Grid({"Sat.SMA": [7000.0 + 20 * i for i in range(6)]})
    out = tmp_path / "s"
    with dask.config.set({"gmat-sweep-dask.compact": False}):  # end on a run entry
        Sweep(example_script, grid, out).run(client, progress=False)
    path = out / "manifest.jsonl"
    data = path.read_bytes()
    # killed while writing its last run entry: half of it, and no session end after it
    end = data.rfind(b"\n", 0, data.rfind(b'"run_id"')) + 1
    last = data.index(b"\n", end) + 1
    data = data[:last]
    torn = data[: end + (last - end) // 2]
    last = end
    path.write_bytes(torn)
    partial = Manifest.load(path, full=True)
    assert partial.torn and len(partial.entries) == 5
    resumed = Sweep.from_manifest(out).resume(client, progress=False)
    assert resumed.executed == 1 and resumed.counts == {"ok": 6}
    repaired = path.read_bytes()
    assert repaired.startswith(torn[:last]) and torn[last:] not in repaired
    assert not Manifest.load(path).torn
    clean = tmp_path / "clean"
    Sweep(example_script, grid, clean).run(client, progress=False)
    pd.testing.assert_frame_equal(frame_of(out), frame_of(clean))


def test_a_hung_run_times_out_and_the_sweep_goes_on(client, fault_script, tmp_path) -> None:
    table = pd.DataFrame({"StandinFault.Value": [0, 3, 0], "Sat.SMA": [7000.0] * 3})
    started = time.monotonic()
    Sweep(fault_script, Samples(table), tmp_path / "s", timeout=2).run(client, progress=False)
    assert time.monotonic() - started < 30
    entries = Manifest.load(tmp_path / "s" / "manifest.jsonl", full=True).entries
    assert entries[1]["status"] == "failed" and "timeout" in entries[1]["error"]
    assert entries[0]["status"] == entries[2]["status"] == "ok"
    resumed = Sweep.from_manifest(tmp_path / "s")  # the recorded timeout applies again
    assert resumed.timeout == 2 and resumed.isolate
    started = time.monotonic()
    result = resumed.resume(client, progress=False)
    assert result.executed == 1 and result.counts == {"ok": 2, "failed": 1}
    assert time.monotonic() - started < 30


def cli_run(
    out: Path, script: Path, n: int, delay: float, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    env = {**(os.environ if env is None else env), "GMAT_STANDIN_DELAY": str(delay)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gmat_sweep_dask",
            "run",
            str(script),
            "--grid",
            f"Sat.SMA=7000:7400:{n}",
            "--out",
            str(out),
            "--workers",
            "1",
            "--quiet",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_entries(manifest: Path, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (
            manifest.exists()
            and sum('"run_id"' in line for line in manifest.read_text().splitlines()) >= count
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"{manifest}: fewer than {count} entries after {timeout} s")


@pytest.fixture(scope="module")
def clean_grid_frame(client, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The frame of Sat.SMA=7000:7400:24 swept without interruption, made once."""
    from conftest import SCRIPTS

    return _clean(client, SCRIPTS / "leo.script", tmp_path_factory.mktemp("durability") / "c")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_a_killed_driver_resumes_to_the_uninterrupted_frame(
    sig: signal.Signals, clean_grid_frame: pd.DataFrame, client, tmp_path: Path
) -> None:
    from conftest import SCRIPTS

    script = SCRIPTS / "leo.script"
    out = tmp_path / "killed"
    driver = cli_run(out, script, 24, 0.15)
    try:
        wait_for_entries(out / "manifest.jsonl", 4)
        os.kill(driver.pid, sig)
        _, stderr = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    if sig == signal.SIGINT:
        assert driver.returncode == 130
        assert f"resume with: gmat-sweep-dask resume {out}" in stderr
        assert "Traceback" not in stderr
    partial = Manifest.load(out / "manifest.jsonl", full=True)
    assert not partial.torn or sig == signal.SIGKILL
    done = {r for r, e in partial.entries.items() if e["status"] == "ok"}
    assert len(done) >= 4
    resumed = Sweep.from_manifest(out).resume(client, progress=False)
    assert resumed.counts == {"ok": 24}
    assert resumed.executed + resumed.reconciled == 24 - len(done)  # nothing run twice
    final = Manifest.load(out / "manifest.jsonl", full=True)
    for run_id in done:  # entries of runs done before the kill are untouched
        assert final.entries[run_id]["ended"] == partial.entries[run_id]["ended"]
    pd.testing.assert_frame_equal(frame_of(out), clean_grid_frame)


def _clean(client, script: Path, out: Path) -> pd.DataFrame:
    from gmat_sweep_dask.design.grid_grammar import parse_axis

    _, values = parse_axis("Sat.SMA=7000:7400:24")
    Sweep(script, Grid({"Sat.SMA": values}), out).run(client, progress=False)
    return frame_of(out)


def test_a_second_driver_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    from conftest import SCRIPTS
    from gmat_standin import Gate

    out = tmp_path / "busy"
    gate = Gate(tmp_path)  # the first driver's runs wait until the second has been refused
    first = cli_run(out, SCRIPTS / "leo.script", 6, 0, env=gate.env())
    try:
        gate.wait_for_runs(1)
        second = subprocess.run(
            [sys.executable, "-m", "gmat_sweep_dask", "resume", str(out), "--workers", "1", "-q"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert first.poll() is None, "the first driver ended before the second tried"
        gate.open()
        assert second.returncode == 2, second.stderr
        assert f"pid {first.pid}" in second.stderr and "another driver" in second.stderr
        assert first.wait(timeout=120) == 0
    finally:
        gate.open()
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert Manifest.load(out / "manifest.jsonl").status_counts() == {"ok": 6}


def test_script_drift_is_refused_unless_allowed(client, example_script, tmp_path) -> None:
    script = tmp_path / "m.script"
    script.write_text(example_script.read_text())
    out = tmp_path / "s"
    Sweep(script, Grid({"Sat.SMA": [7000.0]}), out).run(client, progress=False)
    script.write_text(script.read_text().replace("\n", "\r\n") + "\n\n")  # not drift
    Sweep.from_manifest(out)
    script.write_text(script.read_text() + "% a comment changes the mission text\n")
    from gmat_sweep_dask import ScriptError

    with pytest.raises(
        ScriptError, match=r"script changed since the sweep started: .*m\.script \(changed\)"
    ):
        Sweep.from_manifest(out)
    assert Sweep.from_manifest(out, allow_script_drift=True).resume(client, progress=False)
    header = Manifest.load(out / "manifest.jsonl").header
    assert header["snapshot"]["path"] == "script/v2/m.script"  # the new text, frozen too
    assert (out / "script" / "v2" / "m.script").read_text().endswith("mission text\n")


def test_a_sigkilled_worker_is_retried_by_dask_and_attempts_are_recorded(
    client, fault_script: Path, tmp_path: Path
) -> None:
    import logging
    import threading

    from distributed import Client, LocalCluster
    from gmat_standin import Gate

    grid = Grid({"Sat.SMA": [7000.0 + i for i in range(16)]})
    out = tmp_path / "s"
    gate = Gate(tmp_path, free=2)  # two runs complete, then each worker holds one in flight
    with (
        dask.config.set({"distributed.deploy.lost-worker-timeout": KEEP_LOST_WORKERS}),
        dask.config.set(Gate.SINGLE_RUN_TASKS),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
            env=gate.env({}),
        ) as cluster,
        Client(cluster, set_as_default=False) as own,
    ):
        result: dict = {}
        runner = threading.Thread(
            target=lambda: result.update(r=Sweep(fault_script, grid, out).run(own, progress=False))
        )
        runner.start()
        try:
            wait_for_entries(out / "manifest.jsonl", 2)
            gate.wait_for_runs(4)  # one engine per worker, one run at a time: both are busy
            done = Manifest.load(out / "manifest.jsonl", full=True).entries
            victim = next(iter(own.run(os.getpid).values()))
            os.kill(victim, signal.SIGKILL)
        finally:
            gate.open()
        runner.join(timeout=120)
        assert not runner.is_alive()
    entries = Manifest.load(out / "manifest.jsonl", full=True).entries
    assert result["r"].counts == {"ok": 16}
    assert max(e["attempts"] for e in entries.values()) >= 2
    assert all(e["status"] == "ok" for e in entries.values())
    assert {r: entries[r]["ended"] for r in done} == {r: e["ended"] for r, e in done.items()}
    clean = tmp_path / "clean"
    Sweep(fault_script, grid, clean).run(client, progress=False)
    pd.testing.assert_frame_equal(frame_of(out), frame_of(clean))
