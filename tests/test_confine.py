"""Every file a run writes stays in its own directory, whatever its Filename says."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import SCRIPTS

from gmat_sweep_dask import open_sweep, sweep
from gmat_sweep_dask.execute.confine import private_temp_dir
from gmat_sweep_dask.store.outputnames import escapes

SMAS = [7000.0, 7200.0, 7400.0]


def with_filename(tmp_path: Path, filename: str) -> Path:
    text = (SCRIPTS / "leo.script").read_text()
    script = tmp_path / "abs.script"
    script.write_text(text.replace("'positions.txt'", f"'{filename}'"))
    return script


def first_x(frame: pd.DataFrame) -> list[float]:
    return frame.groupby(level=0)["Sat.X"].first().round(6).tolist()


@pytest.mark.parametrize("where", ["script", "override"])
def test_absolute_output_paths_never_leave_the_run(client, tmp_path: Path, where: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "positions.txt"
    if where == "script":
        script, grid = with_filename(tmp_path, str(target)), {"Sat.SMA": SMAS}
    else:
        script = SCRIPTS / "leo.script"
        grid = {"Sat.SMA": SMAS, "Positions.Filename": [str(target)]}
    frame = sweep(script, grid=grid, out=tmp_path / "s", client=client, progress=False)
    data = frame.compute()
    assert list(outside.iterdir()) == []  # nothing written outside the sweep
    assert (data["status"] == "ok").all()
    # each run has its own rows: periapsis x = SMA * (1 - ECC) at t=0, ECC = 0.001
    assert first_x(data) == [round(s * 0.999, 6) for s in SMAS]
    reference = sweep(
        SCRIPTS / "leo.script",
        grid={"Sat.SMA": SMAS},
        out=tmp_path / "ref",
        client=client,
        progress=False,
    ).compute()
    cols = ["Sat.X", "Sat.Y", "Sat.Z"]
    pd.testing.assert_frame_equal(data[cols], reference[cols])


def test_output_paths_that_climb_out_are_kept_in(client, tmp_path: Path) -> None:
    script = with_filename(tmp_path, "../../escaped.txt")
    frame = sweep(
        script,
        grid={"Sat.SMA": SMAS[:2]},
        out=tmp_path / "s",
        client=client,
        progress=False,
        keep_raw=True,
    )
    assert (frame.compute()["status"] == "ok").all()
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "s" / "escaped.txt").exists()
    assert (tmp_path / "s" / "runs" / "0" / "Positions-escaped.txt").is_file()
    assert len(open_sweep(tmp_path / "s").compute()) > 2


@pytest.mark.parametrize(
    ("name", "outside"),
    [
        ("positions.txt", False),
        ("sub/dir/positions.txt", False),
        ("/tmp/x.txt", True),
        ("../x.txt", True),
        ("a/../../x.txt", True),
        ("C:\\data\\x.txt", True),
        ("~/x.txt", True),
    ],
)
def test_which_names_escape(name: str, outside: bool) -> None:
    assert escapes(name) is outside


@pytest.mark.parametrize("before", [None, "/somewhere/else"])
def test_gmat_s_temporary_directory_is_the_run_s_own_while_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: str | None
) -> None:
    if before is None:
        monkeypatch.delenv("TMP", raising=False)
    else:
        monkeypatch.setenv("TMP", before)
    python_tmp = tempfile.gettempdir()
    with private_temp_dir(tmp_path / "run") as private:
        assert os.environ["TMP"] == str(private) and private == tmp_path / "run" / ".gmat-tmp"
        assert private.is_dir() and tempfile.gettempdir() == python_tmp
        (private / "sat.e").write_text("staged")
    assert os.environ.get("TMP") == before and not private.exists()


def test_in_a_scratch_directory_the_private_one_is_left_for_the_worker_to_remove() -> None:
    """The engine does not spend its time removing it: the scratch goes whole, later."""
    from gmat_sweep_dask.execute.scratch import scratch_dir

    scratch = scratch_dir(7)
    try:
        with private_temp_dir(scratch) as private:
            (private / "sat.e").write_text("staged")
        assert private.is_dir()
    finally:
        shutil.rmtree(scratch)


@pytest.mark.gmat
def test_an_output_file_set_to_a_directory_missing_here_is_confined_too(
    engine_root: Path, tmp_path: Path
) -> None:
    """GMAT R2026a refuses an API write of a ReportFile's Filename whose directory does not
    exist, so every run of ``--grid Orbit.Filename=/home/them/x.txt`` failed; the name is
    confined before it is written, as it would have been after."""
    from conftest import EXAMPLE

    missing = tmp_path / "no such directory"
    env = {**os.environ, "GMAT_ROOT": str(engine_root)}
    frames = {}
    for name, extra in (("moved", [f"Orbit.Filename={missing / 'x.txt'}"]), ("plain", [])):
        grid = [token for value in ["Sat.SMA=7000,7100", *extra] for token in ("--grid", value)]
        ran = subprocess.run(
            [sys.executable, "-m", "gmat_sweep_dask", "run", str(EXAMPLE), *grid,
             "--out", str(tmp_path / name), "--workers", "1", "--keep-raw", "-q"],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stdout + ran.stderr
        frames[name] = open_sweep(tmp_path / name).compute()
    assert (tmp_path / "moved" / "runs" / "1" / "Orbit-x.txt").is_file()
    assert not missing.exists()
    cols = ["Sat.X", "Sat.Y", "Sat.Z"]
    pd.testing.assert_frame_equal(frames["moved"][cols], frames["plain"][cols])


@pytest.mark.gmat
def test_an_output_file_named_in_the_mission_sequence_is_refused_before_anything_runs(
    engine_root: Path, tmp_path: Path
) -> None:
    """``Orbit.Filename = '/elsewhere/x.txt'`` after BeginMissionSequence: R2026a writes
    that file while the run runs (each run the same one), where no confinement reaches;
    a plain name lands in the process's current directory. Refused, naming the line."""
    from conftest import EXAMPLE

    outside = tmp_path / "outside"
    outside.mkdir()
    text = EXAMPLE.read_text()
    begin = text.index("BeginMissionSequence")
    line = text[: text.index("\n", begin)].count("\n") + 2
    script = tmp_path / "late.script"
    script.write_text(
        text.replace("BeginMissionSequence", f"BeginMissionSequence\nOrbit.Filename = "
                     f"'{outside / 'late.txt'}';", 1)
    )  # fmt: skip
    env = {**os.environ, "GMAT_ROOT": str(engine_root)}
    for command in (["check", str(script)], ["run", str(script), "--out", str(tmp_path / "s")]):
        refused = subprocess.run(
            [sys.executable, "-m", "gmat_sweep_dask", *command, "--grid", "Sat.SMA=7000,7100"],
            capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
        )  # fmt: skip
        assert refused.returncode == 2, refused.stdout + refused.stderr
        said = refused.stderr.strip().splitlines()
        assert len(said) == 1 and f"late.script, line {line}: Orbit.Filename = '" in said[0]
        assert "outside the sweep directory" in said[0]
    assert list(outside.iterdir()) == [] and not (tmp_path / "s").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.script", "outside"]
