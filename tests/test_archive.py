"""``archive(out, dest)`` / ``gmat-sweep-dask archive``: one file that reopens as the
same frame; refusals (a live driver, a destination inside, crafted members)."""

from __future__ import annotations

import gc
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from test_signals import wait_for_entries

from gmat_sweep_dask import SweepDirError, UsageError, archive, open_sweep, sweep, sweep_path
from gmat_sweep_dask.errors import SweepLockedError

GRID = {"Sat.SMA": [7000.0, 7100.0, 7200.0], "Sat.ECC": [0.001, 0.01]}


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gmat_sweep_dask", *args],
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """A temporary directory of this test's own (extractions go there)."""
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    return private


@pytest.mark.parametrize("suffix", [".zip", ".tar", ".tar.gz"])
def test_an_archive_reopens_as_the_same_frame_elsewhere(
    client, example_script, tmp_path, private_tmp, suffix
) -> None:
    out = tmp_path / "s"
    expected = sweep(example_script, grid=GRID, out=out, client=client, progress=False).compute()
    dest = archive(out, tmp_path / f"s{suffix}")
    assert dest == tmp_path / f"s{suffix}" and dest.is_file()
    moved = tmp_path / "elsewhere" / dest.name
    moved.parent.mkdir()
    shutil.move(dest, moved)
    shutil.rmtree(out)  # only the archive is left
    frame = open_sweep(moved)
    unpacked = sweep_path(frame)
    assert unpacked.parent == private_tmp
    pd.testing.assert_frame_equal(frame.compute(), expected)
    pd.testing.assert_frame_equal(frame.loc[3].compute(), expected.loc[[3]])
    assert (unpacked / "script" / example_script.name).is_file()  # the snapshot travels
    del frame
    deadline = time.monotonic() + 30  # a client may let go of a graph a moment later
    while unpacked.exists() and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.1)
    assert not unpacked.exists() and not list(private_tmp.iterdir())


def test_cli_archive_and_its_refusals(client, example_script, tmp_path) -> None:
    out = tmp_path / "s"
    sweep(example_script, grid=GRID, out=out, client=client, progress=False)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    done = cli("archive", str(out), str(tmp_path / "s.zip"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("archived ") and str(tmp_path / "s.zip") in done.stdout
    with zipfile.ZipFile(tmp_path / "s.zip") as packed:
        names = packed.namelist()
        assert "manifest.jsonl" in names and ".lock" not in names
        assert all(
            i.compress_type == zipfile.ZIP_STORED
            for i in packed.infolist()
            if ".parquet" in i.filename
        )
    for args, needle in [
        ((str(out), str(tmp_path / "s.zip")), "exists"),
        ((str(out), str(out / "inside.zip")), "inside the sweep directory"),
        ((str(out), str(tmp_path / "s.rar")), "expected a file name ending in .zip"),
        ((str(tmp_path / "nothing"), str(tmp_path / "n.zip")), "no sweep directory"),
    ]:
        refused = cli("archive", *args)
        assert refused.returncode == 2, refused.stderr
        assert needle in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert not (out / "inside.zip").exists() and not (tmp_path / "n.zip").exists()
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not list(tmp_path.glob(".*.partial"))


def test_archiving_a_running_sweep_is_refused_naming_its_driver(example_script, tmp_path) -> None:
    out = tmp_path / "running"
    driver = subprocess.Popen(
        [
            *(sys.executable, "-m", "gmat_sweep_dask", "run", str(example_script)),
            *("--grid", "Sat.SMA=7000:7400:30", "--out", str(out), "--workers", "1", "-q"),
        ],
        env={**os.environ, "GMAT_STANDIN_DELAY": "0.3"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_entries(out / "manifest.jsonl", 2)
        with pytest.raises(SweepLockedError, match=f"pid {driver.pid}"):
            archive(out, tmp_path / "live.zip")
        refused = cli("archive", str(out), str(tmp_path / "live.tar"))
        assert refused.returncode == 2 and str(driver.pid) in refused.stderr, refused.stderr
    finally:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait(timeout=60)
    assert not (tmp_path / "live.zip").exists() and not (tmp_path / "live.tar").exists()


def _zip(path: Path, members: list[tuple[str, bytes, int | None]]) -> Path:
    with zipfile.ZipFile(path, "w") as packed, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a duplicate name, on purpose
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            packed.writestr(info, data)
    return path


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w") as packed:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                packed.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                packed.addfile(info, io.BytesIO(member[1]))
    return path


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


MANIFEST = ("manifest.jsonl", b"{}\n")


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda p: _zip(p / "a.zip", [("../escaped", b"x", None)]), "'../escaped'"),
        (lambda p: _zip(p / "a.zip", [(str(p / "abs"), b"x", None)]), "plain relative path"),
        (lambda p: _zip(p / "a.zip", [("data/l", b"/etc", 0o120777)]), "'data/l' is a link"),
        (
            lambda p: _zip(p / "a.zip", [(*MANIFEST, None), (*MANIFEST, None)]),
            "appears twice",
        ),
        (lambda p: _tar(p / "a.tar", [("a/../../escaped", b"x")]), "plain relative path"),
        (lambda p: _tar(p / "a.tar", [_link("data", str(p))]), "'data' is not a regular file"),
        (
            lambda p: _tar(p / "a.tar", [_link("h", "/etc/passwd", tarfile.LNKTYPE)]),
            "'h' is not a regular file",
        ),
        (lambda p: _tar(p / "a.tar", [("data/x", b"x")]), "no manifest.jsonl"),
        (lambda p: (p / "a.zip").write_bytes(b"PK not a zip") and p / "a.zip", "cannot read"),
    ],
)
def test_a_crafted_archive_is_refused_and_writes_nothing_outside(
    tmp_path, private_tmp, make, needle
) -> None:
    crafted = tmp_path / "crafted"
    crafted.mkdir()
    path = make(crafted)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(SweepDirError, match=needle.replace("(", r"\(").replace(".", r"\.")):
        open_sweep(path)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert not list(private_tmp.iterdir())  # the extraction directory is gone too


def test_a_link_in_the_sweep_directory_is_not_archived(client, example_script, tmp_path) -> None:
    out = tmp_path / "s"
    sweep(example_script, grid={"Sat.SMA": [7000.0]}, out=out, client=client, progress=False)
    (out / "data" / "outside").symlink_to(tmp_path)
    with pytest.raises(SweepDirError, match="data/outside is a link"):
        archive(out, tmp_path / "s.zip")
    assert not (tmp_path / "s.zip").exists()
    with pytest.raises(UsageError, match="expected a file name ending in"):
        archive(out, tmp_path / "s.7z")


@pytest.mark.parametrize("suffix", [".zip", ".tar.gz"])
def test_an_archive_member_too_big_for_the_disk_is_refused_before_it_is_written(
    tmp_path, private_tmp, monkeypatch, suffix
) -> None:
    """A "zip bomb": 16 MiB of zeros packs into a few KiB. Here the disk can spare only
    ~1 MiB (the reserve is raised to nearly all its free space)."""
    from gmat_sweep_dask.store import archive as archives

    zeros = b"\0" * (16 << 20)
    crafted = tmp_path / f"bomb{suffix}"
    if suffix == ".zip":
        with zipfile.ZipFile(crafted, "w", zipfile.ZIP_DEFLATED) as packed:
            packed.writestr(MANIFEST[0], MANIFEST[1])
            packed.writestr("data/zeros", zeros)
    else:
        with tarfile.open(crafted, "w:gz") as packed:
            for name, data in (MANIFEST, ("data/zeros", zeros)):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                packed.addfile(info, io.BytesIO(data))
    assert crafted.stat().st_size < (1 << 20)
    monkeypatch.setattr(archives, "RESERVE", shutil.disk_usage(private_tmp).free - (1 << 20))
    with pytest.raises(SweepDirError, match=r"'data/zeros' holds 16,777,216 bytes, more than"):
        open_sweep(crafted)
    assert not list(private_tmp.iterdir())  # nothing of it is left
