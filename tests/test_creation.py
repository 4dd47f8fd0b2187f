"""A driver killed (SIGKILL) while it creates a sweep: the same command starts it, and
every command needing the manifest says so in one line; no file of the user's is removed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gmat_sweep_dask import Manifest
from gmat_sweep_dask.errors import SweepDirError
from gmat_sweep_dask.store import creation
from gmat_sweep_dask.store.sweepdir import SweepDir

# Runs the command line with one step of creating a sweep made to stop forever: it
# touches argv[2] when it gets there, and the test kills it with SIGKILL.
STOPPED_AT = """
import contextlib, sys, time
from pathlib import Path
from gmat_sweep_dask.store import creation, manifest_writer, snapshot
from gmat_sweep_dask import launch

where, ready = sys.argv[1], Path(sys.argv[2])

def stop(*args, **kwargs):
    ready.write_text("here")
    time.sleep(600)

if where == "manifest":  # snapshot and design files written, the manifest not yet
    manifest_writer.ManifestWriter.create = classmethod(stop)
elif where == "snapshot":  # the snapshot's temporary file written, not yet renamed
    @contextlib.contextmanager
    def writing(final):
        tmp = final.with_name(f".{final.name}.tmp")
        yield tmp
        stop()
    snapshot.writing = writing
elif where == "finish":  # the manifest written, the marker not yet removed
    finish = creation.finish
    creation.finish = lambda d: stop() if (d / "manifest.jsonl").exists() else finish(d)
sys.argv = ["gmat-sweep-dask", *sys.argv[3:]]
launch.main()
"""


def killed_while_creating(where: str, command: list[str], tmp_path: Path) -> None:
    """Run ``command`` (arguments after ``gmat-sweep-dask``), SIGKILL it at ``where``."""
    ready = tmp_path / f"ready-{where}"
    driver = subprocess.Popen(
        [sys.executable, "-c", STOPPED_AT, where, str(ready), *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), f"the driver never reached {where} (exit {driver.poll()})"
    finally:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait(timeout=60)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gmat_sweep_dask", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("where", ["manifest", "snapshot"])
def test_a_driver_killed_before_the_manifest_is_written_is_started_again_by_the_same_command(
    where: str, tmp_path: Path
) -> None:
    from conftest import EXAMPLE

    out = tmp_path / "s"
    command = ["run", str(EXAMPLE), "--grid", "Sat.SMA=7000,7100", "--out", str(out)]
    command += ["--workers", "1", "-q"]
    killed_while_creating(where, command, tmp_path)
    assert (out / "script").is_dir() and not (out / "manifest.jsonl").exists()

    for refused in (cli("resume", str(out), "-q"), cli("show", str(out))):
        assert refused.returncode == 2
        assert refused.stderr.splitlines() == [
            f"gmat-sweep-dask: error: {out}: this sweep's creation was interrupted before its "
            "manifest was written, so nothing ran; start it again with the command that "
            "created it (it clears the files left here)"
        ]
    again = cli(*command)
    assert again.returncode == 0, again.stderr
    assert Manifest.load(out / "manifest.jsonl").status_counts() == {"ok": 2}
    assert sorted(p.name for p in out.iterdir()) == ["data", "manifest.jsonl", "script"]
    assert sorted(p.name for p in (out / "script").iterdir()) == ["leo.script"]


def test_a_samples_sweep_killed_before_its_manifest_can_start_with_another_table(
    tmp_path: Path,
) -> None:
    """The design's side file is cleared too: the next run writes its own table."""
    from conftest import EXAMPLE

    out = tmp_path / "s"
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("Sat.SMA\n7000\n7100\n")
    second.write_text("Sat.SMA\n7200\n7300\n7400\n")
    command = ["run", str(EXAMPLE), "--out", str(out), "--workers", "1", "-q", "--samples"]
    killed_while_creating("manifest", [*command, str(first)], tmp_path)
    assert (out / "design" / "samples.parquet").is_file()
    again = cli(*command, str(second))
    assert again.returncode == 0, again.stderr
    assert Manifest.load(out / "manifest.jsonl").status_counts() == {"ok": 3}


def test_a_file_of_the_users_is_kept_and_named_by_the_refusal(tmp_path: Path) -> None:
    from conftest import EXAMPLE

    out = tmp_path / "s"
    command = ["run", str(EXAMPLE), "--grid", "Sat.SMA=7000,7100", "--out", str(out)]
    command += ["--workers", "1", "-q"]
    killed_while_creating("manifest", command, tmp_path)
    (out / "script" / "notes.txt").write_text("mine")
    refused = cli(*command)
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        f"gmat-sweep-dask: error: output directory {out} exists and is not an empty "
        "directory or a sweep directory"
    ]
    assert (out / "script" / "notes.txt").read_text() == "mine"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "script",
        "script/notes.txt",
    ]


def test_a_driver_killed_just_after_the_manifest_leaves_a_sweep_that_resumes(
    tmp_path: Path,
) -> None:
    from conftest import EXAMPLE

    out = tmp_path / "s"
    command = ["run", str(EXAMPLE), "--grid", "Sat.SMA=7000,7100", "--out", str(out)]
    killed_while_creating("finish", [*command, "--workers", "1", "-q"], tmp_path)
    assert (out / ".creating").exists() and (out / "manifest.jsonl").exists()
    (out / "manifest.jsonl.new").write_bytes(b"")  # as a kill after the link leaves it
    resumed = cli("resume", str(out), "--workers", "1", "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert Manifest.load(out / "manifest.jsonl").status_counts() == {"ok": 2}
    assert not (out / ".creating").exists() and not (out / "manifest.jsonl.new").exists()


def test_a_marker_naming_a_path_outside_the_directory_removes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "s"
    (out / "script").mkdir(parents=True)
    (out / "script" / "leo.script").write_text("x")
    (tmp_path / "precious").write_text("keep")
    listed = ["script/leo.script", "../precious"]
    (out / ".creating").write_text(json.dumps({"format": creation.FORMAT, "creating": listed}))
    sweep_dir = SweepDir(out)
    with pytest.raises(SweepDirError, match=r"'\.\./precious' lies outside"), sweep_dir.locked():
        sweep_dir.clear_unfinished()
    assert (tmp_path / "precious").read_text() == "keep"
    assert (out / "script" / "leo.script").exists()


@pytest.mark.parametrize("cut", [0, 7, 40, 60])
def test_a_marker_cut_short_lists_nothing_and_is_removed(cut: int, tmp_path: Path) -> None:
    """A crash before the marker's fsync can leave part of it (nothing else was written)."""
    creation.begin(tmp_path, ["script/leo.script"])
    marker = tmp_path / ".creating"
    marker.write_bytes(marker.read_bytes()[:cut])
    assert creation.unfinished(tmp_path)
    creation.clear(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", ["my notes", '{"creating": ["notes.txt"]}'])
def test_a_file_named_like_the_marker_that_is_not_ours_is_left_alone(
    text: str, tmp_path: Path
) -> None:
    """A user's own ``.creating`` (not our format) is no unfinished creation: nothing is
    removed, and the directory is refused as not empty."""
    from conftest import EXAMPLE

    out = tmp_path / "s"
    out.mkdir()
    (out / ".creating").write_text(text)
    (out / "notes.txt").write_text("mine")
    refused = cli("run", str(EXAMPLE), "--grid", "Sat.SMA=7000", "--out", str(out), "-q")
    assert refused.returncode == 2 and "is not an empty directory" in refused.stderr
    assert (out / ".creating").read_text() == text and (out / "notes.txt").exists()
    shown = cli("show", str(out))
    assert shown.returncode == 2 and "no manifest here" in shown.stderr
