"""Scratch directories: found by owner, removed only when their owner process is gone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from gmat_sweep_dask.execute import scratch


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_scratch_of_gone_processes_of_this_host_is_removed(tmp_path: Path) -> None:
    host, dead = socket.gethostname(), _dead_pid()
    names = {
        "dead": f"{scratch.PREFIX}{dead}.{host}.run7.abc123",
        "live": f"{scratch.PREFIX}{os.getpid()}.{host}.run8.def456",
        "elsewhere": f"{scratch.PREFIX}{dead}.other-{host}.run9.ghi789",
        "old style": "gmat-sweep-dask-7-x1y2z3",
        "unrelated": "something-else",
    }
    for name in names.values():
        (tmp_path / name).mkdir()
        (tmp_path / name / "positions.txt").write_text("data")
    a_file = tmp_path / f"{scratch.PREFIX}{dead}.{host}.run10.jkl012"
    a_file.write_text("not a directory")

    removed = scratch.remove_stale(tmp_path)

    assert removed == [tmp_path / names["dead"]]
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {n for k, n in names.items() if k != "dead"} | {a_file.name}


def test_a_new_scratch_directory_names_its_owner(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(scratch.tempfile, "tempdir", str(tmp_path))
    made = scratch.scratch_dir(42)
    assert made.parent == tmp_path and made.is_dir() and not any(made.iterdir())
    assert made.name.startswith(f"{scratch.PREFIX}{os.getpid()}.{socket.gethostname()}.run42.")
    assert scratch.remove_stale(tmp_path) == []  # its owner (this process) is alive
