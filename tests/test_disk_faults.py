"""A full or read-only sweep directory: a clear error, nothing recorded lost, then resume.

The end-to-end test mounts a small tmpfs (needs root, as in CI); the manifest-writer
test injects the failing write itself and runs anywhere.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gmat_sweep_dask import Manifest, Sweep, open_sweep
from gmat_sweep_dask.design import Grid
from gmat_sweep_dask.errors import SweepDirWriteError
from gmat_sweep_dask.store.manifest_writer import ManifestWriter

GRID = "Sat.SMA=7000:7400:60"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gmat_sweep_dask", *args, "--workers", "1", "-q"]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def mount(point: Path, options: str) -> None:
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs: room for the manifest and a few runs' data, not for 60 runs."""
    point = tmp_path / "disk"
    point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    try:
        mount(point, "size=64k")
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False)


def test_a_full_disk_stops_the_sweep_cleanly_and_resume_finishes_it(
    client, example_script: Path, small_disk: Path, tmp_path: Path
) -> None:
    out = small_disk / "s"
    full = cli("run", str(example_script), "--grid", GRID, "--out", str(out))
    assert full.returncode == 2, full.stderr
    lines = full.stderr.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0], full.stderr
    assert f"gmat-sweep-dask resume {out}" in lines[0]
    partial = Manifest.load(out / "manifest.jsonl", full=True)
    assert not partial.torn and partial.header["run_count"] == 60
    done = {r: e for r, e in partial.entries.items() if e["status"] == "ok"}
    assert 0 < len(done) < 60
    rows = open_sweep(out).compute().groupby(level=0).size()
    assert all(rows[r] == 101 for r in done)  # every recorded run is intact

    subprocess.run(["mount", "-o", "remount,size=20m", str(small_disk)], check=True)
    resumed = cli("resume", str(out))
    assert resumed.returncode == 0, resumed.stderr
    final = Manifest.load(out / "manifest.jsonl", full=True)
    assert final.status_counts() == {"ok": 60}
    for run_id, entry in done.items():  # recorded before the disk filled: not run again
        assert final.entries[run_id]["ended"] == entry["ended"]
    clean = tmp_path / "clean"
    Sweep(example_script, Grid({"Sat.SMA": np.linspace(7000, 7400, 60)}), clean).run(
        client, progress=False
    )
    pd.testing.assert_frame_equal(open_sweep(out).compute(), open_sweep(clean).compute())

    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    for args in (("resume", str(out)), ("compact", str(out))):
        refused = subprocess.run(
            [sys.executable, "-m", "gmat_sweep_dask", *args], capture_output=True, text=True
        )
        assert refused.returncode == 2 and "Read-only file system" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_failed_manifest_write_is_cut_back_and_named(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "manifest.jsonl"
    header = {
        "format": "gmat-sweep-dask manifest",
        "schema_version": 1,
        "script": "x.script",
        "script_sha256": "0" * 64,
        "design": {"kind": "grid", "axes": [["Sat.SMA", [1.0, 2.0]]]},
        "run_count": 2,
        "seed": None,
        "keep_raw": False,
    }
    writer = ManifestWriter.create(path, header)
    entry = {"run_id": 0, "status": "ok", "overrides": {"Sat.SMA": 1.0}, "outputs": {}}
    writer.append([entry])
    intact = path.read_bytes()
    real_write = os.write

    def half_then_full(fd: int, data: bytes | memoryview) -> int:
        if fd == writer._file.fileno():
            monkeypatch.setattr(os, "write", fail)
            return real_write(fd, bytes(data)[: len(data) // 2])
        return real_write(fd, data)

    def fail(fd: int, data: bytes | memoryview) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(SweepDirWriteError, match=r"manifest.jsonl: No space left on device"):
        writer.append([{**entry, "run_id": 1}])
    monkeypatch.setattr(os, "write", real_write)
    writer.close()
    assert path.read_bytes() == intact
    assert set(Manifest.load(path).entries) == {0}
