"""Nothing of a CLI sweep runs on after the command exits: its process group is empty.

The command is started in a process group of its own, as a shell starts a job; the moment
it has exited, no process of that group may exist any more (running, or exited and not yet
reaped): not its cluster's workers, not a GMAT engine process, not a helper of Python's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLE


def group_members(group: int) -> list[str]:
    """``pid state command`` of every process in process group ``group``."""
    members = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            command = cmdline.decode(errors="replace")  # any process's: not ours to choose
        except OSError:  # gone meanwhile
            continue
        state, _parent, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == group:
            members.append(f"{pid} {state} {command.strip() or stat.split()[1]}")
    return members


def run_in_own_group(*arguments: str, cwd: Path) -> tuple[int, list[str], str]:
    """Run the CLI as a job of its own; return its exit code, what of its process group
    exists right after it exited, and its stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gmat_sweep_dask", *arguments],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    _, stderr = process.communicate(timeout=600)
    return process.returncode, group_members(process.pid), stderr


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(
    ("grid", "code"),
    [
        ("Sat.SMA=7000:7900:10", 0),  # a small sweep on the LocalCluster it starts
        ("Sat.NoSuchField=1,2", 2),  # refused by the check, with its engines started
    ],
)
def test_the_cli_leaves_nothing_running_when_it_exits(grid: str, code: int, tmp_path: Path) -> None:
    arguments = ["run", str(EXAMPLE), "--grid", grid, "--workers", "2", "--out", "s", "-q"]
    exit_code, left, stderr = run_in_own_group(*arguments, cwd=tmp_path)
    assert exit_code == code, stderr
    assert left == [], f"still in the command's process group after it exited: {left}"
