"""Ctrl-C and SIGTERM through the CLI (and the API on an in-process client): quiet, exit
130 / 143, resume to the same frame."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from gmat_sweep_dask import Manifest, Sweep, open_sweep
from gmat_sweep_dask.design import Grid
from gmat_sweep_dask.design.grid_grammar import parse_axis

GRID = "Sat.SMA=7000:7400:24"


class Output:
    """Lines a process writes (stdout and stderr together), each with when it was read."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[tuple[float, str]] = []
        assert process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def after(self, moment: float) -> list[str]:
        self._reader.join(30)
        return [line for when, line in self.lines if when > moment and line.strip()]


def start(command: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], Output]:
    """``command`` started in a process group of its own, as a shell job is, its output
    (stdout and stderr together) read as it comes."""
    driver = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    return driver, Output(driver)


def wait_for_entries(manifest: Path, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if manifest.exists() and manifest.read_text().count('"run_id"') >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"{manifest}: fewer than {count} entries after {timeout} s")


@pytest.fixture(scope="module")
def clean_frame(client, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The frame of GRID swept without interruption, made once for every case."""
    from conftest import SCRIPTS

    clean = tmp_path_factory.mktemp("signals") / "clean"
    _, values = parse_axis(GRID)
    Sweep(SCRIPTS / "leo.script", Grid({"Sat.SMA": values}), clean).run(client, progress=False)
    return open_sweep(clean).compute().sort_index(kind="stable")


@pytest.mark.parametrize(
    ("sig", "whom", "code"),
    [
        (signal.SIGINT, "process group", 130),  # Ctrl-C in a terminal
        (signal.SIGTERM, "driver", 143),  # SLURM at walltime, scancel
    ],
)
def test_an_interrupted_sweep_says_three_lines_at_most_and_resumes_to_the_same_frame(
    sig: signal.Signals, whom: str, code: int, clean_frame: pd.DataFrame, tmp_path: Path
) -> None:
    from conftest import SCRIPTS
    from gmat_standin import Gate

    script = SCRIPTS / "leo.script"
    out = tmp_path / "interrupted"
    gate = Gate(tmp_path, free=4)  # four runs complete, the next ones are in flight at the signal
    driver, output = start(
        [
            *(sys.executable, "-m", "gmat_sweep_dask", "run", str(script)),
            *("--grid", GRID, "--out", str(out), "--workers", "2"),
        ],
        gate.env(),
    )
    try:
        wait_for_entries(out / "manifest.jsonl", 4)
        gate.wait_for_runs(6)  # both workers are in a run
        sent = time.monotonic()
        if whom == "process group":
            os.killpg(driver.pid, sig)
        else:
            os.kill(driver.pid, sig)
        driver.wait(timeout=120)
    finally:
        gate.open()  # no engine outlives the test waiting
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    said = output.after(sent)
    assert driver.returncode == code, said
    assert 1 <= len(said) <= 3, said
    assert said[-1].endswith(f"gmat-sweep-dask resume {out}"), said
    assert not any("Traceback" in line or "Error" in line for line in said), said

    partial = Manifest.load(out / "manifest.jsonl", full=True)
    assert not partial.torn
    assert_resumes_to(out, partial, 4, clean_frame)


def assert_resumes_to(out: Path, partial: Manifest, ok: int, clean_frame: pd.DataFrame) -> None:
    """``partial`` holds ``ok`` ok runs and none failed; ``resume`` finishes the sweep to
    ``clean_frame`` without running any of them again."""
    done = {r: e["ended"] for r, e in partial.entries.items() if e["status"] == "ok"}
    assert len(done) == ok and "failed" not in partial.status_counts()  # cut short: not failed
    resumed = subprocess.run(
        [sys.executable, "-m", "gmat_sweep_dask", "resume", str(out), "--workers", "2", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    final = Manifest.load(out / "manifest.jsonl", full=True)
    assert final.status_counts() == {"ok": 24}
    assert {r: final.entries[r]["ended"] for r in done} == done  # nothing finished was redone
    resumed_frame = open_sweep(out).compute().sort_index(kind="stable")
    pd.testing.assert_frame_equal(resumed_frame, clean_frame)


def test_a_sweep_interrupted_before_it_recorded_anything_says_to_run_it_again(
    tmp_path: Path,
) -> None:
    """Ctrl-C while GMAT still starts: there is no sweep to resume (``resume`` would say
    "no manifest here"), so the last line says to run the same command again, and the
    directory is left as it was (here: not there), so that command can start."""
    from conftest import EXAMPLE

    out = tmp_path / "early"
    command = [sys.executable, "-m", "gmat_sweep_dask", "run", str(EXAMPLE)]
    command += ["--grid", "Sat.SMA=7000,7100", "--out", str(out), "--workers", "1"]
    driver, output = start(
        command,
        {**os.environ, "GMAT_STANDIN_BOOT_DELAY": "120"},
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / ".lock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        sent = time.monotonic()
        os.killpg(driver.pid, signal.SIGINT)
        driver.wait(timeout=120)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    said = output.after(sent)
    assert driver.returncode == 130, said
    assert said == [
        "gmat-sweep-dask: interrupted by SIGINT before the sweep recorded anything",
        "start it with: the same command again",
    ]
    assert not out.exists()
    again = subprocess.run([*command, "-q"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr


CTRL_C_WHEN = """
import os, signal, sys
import click
from gmat_sweep_dask import launch

moment = sys.argv[1]

def ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)

class Finder:  # a Ctrl-C while this module is imported
    def find_spec(self, name, path=None, target=None):
        if name == moment:
            ctrl_c()
        return None

sys.meta_path.insert(0, Finder())
if moment == "parse":  # or while click reads the command line
    parse = click.Command.parse_args
    click.Command.parse_args = lambda *a, **k: (ctrl_c(), parse(*a, **k))[1]
sys.argv = ["gmat-sweep-dask", *sys.argv[2:]]
launch.main()
"""


@pytest.mark.parametrize("moment", ["gmat_sweep_dask.cli.stochastic", "parse"])
def test_a_ctrl_c_while_the_command_line_loads_is_one_line_and_exit_130(
    moment: str, tmp_path: Path
) -> None:
    """The first moments of a command load it (imports, click reading the options): a
    Ctrl-C there printed a KeyboardInterrupt traceback, or click's "Aborted!" with exit
    code 1 (which means "some runs failed")."""
    from conftest import EXAMPLE

    out = tmp_path / "never"
    arguments = ["run", str(EXAMPLE), "--grid", "Sat.SMA=7000,7100", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", CTRL_C_WHEN, moment, *arguments],
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert (done.returncode, said) == (
        130,
        ["gmat-sweep-dask: interrupted by SIGINT before the command started; nothing changed"],
    )
    assert not out.exists()


IN_PROCESS_DRIVER = """
import json, logging, sys
from dask.distributed import Client
from gmat_sweep_dask import sweep

script, out, warm, values = sys.argv[1:]
with Client(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0",
            silence_logs=logging.CRITICAL) as client:
    sweep(script, grid={"Sat.SMA": [7000.0]}, out=warm, client=client, progress=False)
    print("first sweep done", flush=True)  # its warm engines were kept for the next
    sweep(script, grid={"Sat.SMA": json.loads(values)}, out=out, client=client, progress=False)
"""


def test_ctrl_c_on_a_sweep_on_the_callers_in_process_client_stops_its_runs_at_once(
    clean_frame: pd.DataFrame, tmp_path: Path
) -> None:
    """A notebook's ``Client(processes=False)``: its workers are threads of the driver.
    Ctrl-C used to leave each worker's batch running on (a held run: forever; a long GMAT
    run: minutes); now the sweep stops them as it does on its own LocalCluster, and
    ``resume`` finishes it to the uninterrupted frame without redoing a recorded run."""
    from conftest import SCRIPTS
    from gmat_standin import Gate

    out = tmp_path / "interrupted"
    gate = Gate(tmp_path, free=4)  # the warm-up run and 3 more complete, then runs are held
    _, values = parse_axis(GRID)
    paths = [str(SCRIPTS / "leo.script"), str(out), str(tmp_path / "warm"), json.dumps(values)]
    driver, output = start(
        [sys.executable, "-c", IN_PROCESS_DRIVER, *paths],
        gate.env(),
    )
    try:
        wait_for_entries(out / "manifest.jsonl", 3)
        gate.wait_for_runs(6)  # both workers hold a run at the closed gate
        os.killpg(driver.pid, signal.SIGINT)
        driver.wait(timeout=60)  # before: it waited for the gate, i.e. forever
    finally:
        gate.open()
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    said = output.after(0)
    assert "first sweep done" in said, said
    assert driver.returncode != 0 and "Interrupted: SIGINT" in said[-1], said
    leftover = subprocess.run(["pgrep", "-s", str(driver.pid)], capture_output=True, text=True)
    assert leftover.stdout == "", "engine hosts outlived their driver"

    assert_resumes_to(out, Manifest.load(out / "manifest.jsonl", full=True), 3, clean_frame)
