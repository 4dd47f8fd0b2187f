"""Everything knowable without a cluster is decided before one starts (CLI, as users call it).

Each refusal below must come with exit 2, one line naming the problem, nothing written,
and no cluster started (the LocalCluster banner never appears on stderr).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SCRIPTS

from gmat_sweep_dask.store.lock import SweepLock

BANNER = "LocalCluster with"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gmat_sweep_dask", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def refused(result: subprocess.CompletedProcess[str], needle: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert BANNER not in result.stderr


def test_a_locked_directory_is_refused_naming_its_owner(tmp_path: Path) -> None:
    out = tmp_path / "s"
    out.mkdir()
    with SweepLock(out):
        result = cli(
            "run", str(SCRIPTS / "leo.script"), "--grid", "Sat.SMA=7000,7100", "--out", str(out)
        )
    refused(result, f"another driver is running this sweep (pid {os.getpid()} on host")
    assert sorted(p.name for p in out.iterdir()) == []


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        (
            "Sat.SMA=abc",
            "Sat.SMA='abc': expected a number like the script's value of Sat.SMA (7000.0)",
        ),
        ("Sat.NoSuchField=1,2", "Sat.NoSuchField"),
        ("Nobody.SMA=7000", "Nobody"),
        ("Sat.DateFormat=1,2", "expected text like the script's value of Sat.DateFormat"),
    ],
)
def test_bad_fields_and_values_are_refused_before_a_cluster(
    tmp_path: Path, grid: str, needle: str
) -> None:
    out = tmp_path / "s"
    result = cli("run", str(SCRIPTS / "leo.script"), "--grid", grid, "--out", str(out))
    refused(result, needle)
    assert not out.exists()


def test_missing_gmat_is_named_as_such_before_a_cluster(tmp_path: Path) -> None:
    out = tmp_path / "s"
    result = cli(
        "run",
        str(SCRIPTS / "leo.script"),
        "--grid",
        "Sat.SMA=7000",
        "--out",
        str(out),
        env={"GMAT_ROOT": str(tmp_path / "nowhere")},
    )
    refused(result, "GMAT is not installed here (GMAT_ROOT env var: ")
    assert "nowhere: does not exist): set GMAT_ROOT to a GMAT" in result.stderr
    assert not out.exists()


def test_resuming_a_finished_sweep_says_so_without_a_cluster(tmp_path: Path) -> None:
    out = tmp_path / "s"
    first = cli(
        "run", str(SCRIPTS / "leo.script"), "--grid", "Sat.SMA=7000,7100", "--out", str(out), "-q"
    )
    assert first.returncode == 0, first.stderr
    again = cli("resume", str(out))
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("nothing to run: all 2 runs are ok")
    assert BANNER not in again.stderr


def test_two_different_sweeps_racing_for_one_directory_never_both_succeed(
    tmp_path: Path,
) -> None:
    from gmat_sweep_dask import Manifest

    env = {**os.environ, "GMAT_STANDIN_DELAY": "0.05"}
    races = {  # three directories, each raced for by two different sweeps, all at once
        tmp_path / f"race{race}": [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gmat_sweep_dask",
                    "run",
                    str(SCRIPTS / "leo.script"),
                    "--grid",
                    grid,
                    "--out",
                    str(tmp_path / f"race{race}"),
                    "-q",
                    "--workers",
                    "1",
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for grid in ("Sat.SMA=7000:7100:8", "Sat.ECC=0.001:0.01:8")
        ]
        for race in range(3)
    }
    for out, racers in races.items():
        results = [(r.wait(timeout=300), r.stderr.read()) for r in racers]
        codes = sorted(code for code, _ in results)
        assert codes == [0, 2], results
        loser = next(err for code, err in results if code == 2)
        assert "another driver is running this sweep" in loser or "different sweep" in loser
        manifest = Manifest.load(out / "manifest.jsonl", full=True)
        (axis,) = manifest.header["design"]["axes"]
        assert manifest.run_count == 8
        assert all(set(e["overrides"]) == {axis[0]} for e in manifest.entries.values())
