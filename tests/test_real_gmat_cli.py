"""The real_gmat tier from the command line: the bundled example and a SIGKILLed driver.

Each test starts ``gmat-sweep-dask`` (or ``examples/run.sh``) as users do, with
``GMAT_ROOT`` pointing at the real GMAT R2026a of ``tests/gmat_real/build.sh``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, REPO
from test_durability import wait_for_entries

from gmat_sweep_dask import Manifest, Sweep, open_sweep
from gmat_sweep_dask.design import Grid
from gmat_sweep_dask.design.grid_grammar import parse_axis

pytestmark = pytest.mark.real_gmat


def real_env(root: Path) -> dict[str, str]:
    return {**os.environ, "GMAT_ROOT": str(root)}


def test_examples_run_sh_uses_the_real_engine_and_says_so(real_gmat_root, tmp_path):
    out = tmp_path / "example"
    result = subprocess.run(
        ["bash", str(REPO / "examples" / "run.sh")],
        env={**real_env(real_gmat_root), "OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"engine: real GMAT from GMAT_ROOT={real_gmat_root}" in result.stdout
    assert "STAND-IN" not in result.stdout + result.stderr
    assert "engine:   GMAT R2026a" in result.stdout  # `show` reads what the sweep recorded
    assert "status:   123 ok" in result.stdout
    frame = open_sweep(out)
    assert frame.index.nunique().compute() == 123 and "lowest altitude" in result.stdout


def test_a_sigkilled_driver_resumes_to_the_uninterrupted_frame(
    real_gmat_root, real_client, tmp_path
):
    grid = "Sat.SMA=7000:7400:24"
    days = "Duration.Value=432000"  # five days: about 0.25 s per run on real GMAT
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "gmat_sweep_dask", "run", str(EXAMPLE), "--out", str(out)]
    driver = subprocess.Popen(
        [*command, "--grid", grid, "--grid", days, "--workers", "1", "--quiet"],
        env=real_env(real_gmat_root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for_entries(out / "manifest.jsonl", 4, timeout=240)
        os.kill(driver.pid, signal.SIGKILL)
        driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    partial = Manifest.load(out / "manifest.jsonl", full=True)
    done = {r for r, e in partial.entries.items() if e["status"] == "ok"}
    assert 4 <= len(done) < 24  # killed mid-sweep
    resumed = Sweep.from_manifest(out).resume(real_client, progress=False)
    assert resumed.counts == {"ok": 24}
    assert resumed.executed + resumed.reconciled == 24 - len(done)  # nothing run twice
    final = Manifest.load(out / "manifest.jsonl", full=True)
    for run_id in done:
        assert final.entries[run_id]["ended"] == partial.entries[run_id]["ended"]
    axes = dict(parse_axis(spec) for spec in (grid, days))
    clean = tmp_path / "clean"
    Sweep(EXAMPLE, Grid(axes), clean).run(real_client, progress=False)
    pd.testing.assert_frame_equal(open_sweep(out).compute(), open_sweep(clean).compute())


def test_the_bands_example_lines_up_runs_that_report_at_their_own_steps(real_gmat_root, tmp_path):
    # Real GMAT reports at each run's own integrator steps: the bands must resample.
    out = tmp_path / "bands"
    example = REPO / "examples" / "large_sweep_bands.py"
    result = subprocess.run(
        [sys.executable, str(example), "--out", str(out), "--runs", "40"],
        env=real_env(real_gmat_root),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    values = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert values["engine"].startswith("GMAT (GMAT_ROOT=")
    assert values["band_runs_per_step_min"] == "40"  # every run at every step of the grid
    assert values["band_shape"] == "101 x 7"  # 0..6000 s every 60 s
