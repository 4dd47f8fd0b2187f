"""Scratch directories: found by owner, removed only when their owner process is gone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

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
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(scratch.tempfile, "tempdir", str(tmp_path))
    made = scratch.scratch_dir(42)
    assert made.parent == tmp_path and made.is_dir() and not any(made.iterdir())
    assert made.name.startswith(f"{scratch.PREFIX}{os.getpid()}.{socket.gethostname()}.run42.")
    assert scratch.remove_stale(tmp_path) == []  # its owner (this process) is alive


def test_the_scratch_root_is_tmpdir_when_set(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(scratch.tempfile, "tempdir", None)  # re-read TMPDIR
    assert scratch.scratch_root() == tmp_path
    assert scratch.scratch_dir(3).parent == tmp_path


def test_without_tmpdir_scratch_is_in_memory_only_with_room(tmp_path: Path, monkeypatch) -> None:
    """``/dev/shm`` when it is a writable directory with room; the temporary directory when
    it is missing, read-only or too small (a container's 64 MiB)."""
    memory, disk = tmp_path / "shm", tmp_path / "disk"
    disk.mkdir()
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(scratch.tempfile, "tempdir", str(disk))
    monkeypatch.setattr(scratch, "MEMORY_ROOT", memory)
    monkeypatch.setattr(scratch, "MEMORY_ROOM", 1)
    assert scratch.scratch_root() == disk  # missing
    memory.mkdir()
    assert scratch.scratch_root() == memory
    assert scratch.scratch_dir(5).parent == memory
    free = os.statvfs(memory).f_bavail * os.statvfs(memory).f_frsize
    monkeypatch.setattr(scratch, "MEMORY_ROOM", free + (1 << 40))
    assert scratch.scratch_root() == disk  # too small
    monkeypatch.setattr(scratch, "MEMORY_ROOM", 1)
    if os.getuid() != 0:  # root writes anywhere
        memory.chmod(0o500)
        try:
            assert scratch.scratch_root() == disk  # read-only
        finally:
            memory.chmod(0o700)


def test_stale_scratch_is_swept_from_memory_and_from_the_temporary_directory(
    tmp_path: Path, monkeypatch
) -> None:
    """An upgrade leaves old scratch in the temporary directory; both places are swept."""
    memory, disk = tmp_path / "shm", tmp_path / "disk"
    memory.mkdir()
    disk.mkdir()
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(scratch.tempfile, "tempdir", str(disk))
    monkeypatch.setattr(scratch, "MEMORY_ROOT", memory)
    monkeypatch.setattr(scratch, "MEMORY_ROOM", 1)
    name = f"{scratch.PREFIX}{_dead_pid()}.{socket.gethostname()}.run1.abc"
    (memory / name).mkdir()
    (disk / name).mkdir()
    assert sorted(scratch.remove_stale()) == sorted([memory / name, disk / name])
    assert not any(memory.iterdir()) and not any(disk.iterdir())


@pytest.mark.gmat
def test_a_sweep_leaves_nothing_in_the_temporary_directory(engine_root: Path, tmp_path: Path):
    """An engine process ends with ``os._exit``: what it made in its temporary directory
    stayed there. R2026a's gmatpy makes a ``gmatpy-*`` directory in each (825 of them in
    /tmp after a day's tests). Each engine host now has a temporary directory of its own,
    removed once it is reaped."""
    import subprocess
    import sys

    from conftest import EXAMPLE

    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "GMAT_ROOT": str(engine_root), "TMPDIR": str(temp)}
    for command in (
        ["check", str(EXAMPLE), "--grid", "Sat.SMA=7000,7100"],
        ["run", str(EXAMPLE), "--grid", "Sat.SMA=7000:7100:4", "--out", str(tmp_path / "s")],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "gmat_sweep_dask", *command],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        left = {path.name for path in temp.iterdir()} - {"dask-scratch-space"}  # Dask's own,
        assert left == set(), command[0]  # one for every sweep, its workers' parts removed
