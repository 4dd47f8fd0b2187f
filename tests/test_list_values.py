"""List-valued overrides (``FM.PointMasses = {Sun, Luna}``) end to end: design, CLI
grammar, samples, manifest, frame, type checks, on the stand-in and on real GMAT."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import REAL_SCRIPTS

from gmat_sweep_dask import Manifest, ScriptError, SpecError, open_sweep, sweep
from gmat_sweep_dask.design import Grid, Samples
from gmat_sweep_dask.design.grid_grammar import parse_axis

ADD_XY = ["Sat.UTCGregorian", "Sat.X", "Sat.Y"]


def entries(out: Path) -> dict[int, dict]:
    return Manifest.load(out / "manifest.jsonl", full=True).entries


def test_grid_axes_take_lists_and_refuse_what_gmat_cannot_hold() -> None:
    grid = Grid({"FM.PointMasses": [["Earth"], ("Earth", "Luna"), []], "Sat.SMA": [7000]})
    assert grid.overrides([0, 1, 2]) == [
        {"FM.PointMasses": ["Earth"], "Sat.SMA": 7000},
        {"FM.PointMasses": ["Earth", "Luna"], "Sat.SMA": 7000},
        {"FM.PointMasses": [], "Sat.SMA": 7000},
    ]
    assert Grid.from_header(grid.header(), Path(".")).header() == grid.header()
    assert json.loads(json.dumps(grid.header()))["axes"][0][1] == [["Earth"], ["Earth", "Luna"], []]
    for bad, needle in [
        ([["Earth", ["Luna"]]], "nested lists are not supported"),
        ([[1.0, float("nan")]], "which is not finite"),
        ([[1.0, float("inf")]], "which is not finite"),
        ([["Earth", 2]], "mixes text and numbers"),
        ([[True, False]], "a list holds names (text) or numbers"),
    ]:
        with pytest.raises(SpecError, match=needle.replace("(", r"\(").replace(")", r"\)")):
            Grid({"FM.PointMasses": bad})


def test_the_cli_grammar_reads_braced_and_json_lists() -> None:
    name, values = parse_axis("FM.PointMasses={Earth, Luna},{Sun},{}")
    assert (name, values) == ("FM.PointMasses", [["Earth", "Luna"], ["Sun"], []])
    assert parse_axis("Arr.Value={1 2 3},{4, 5.5}")[1] == [[1, 2, 3], [4, 5.5]]
    assert parse_axis('FM.PointMasses=[["Sun"], ["Sun", "Luna"]]')[1] == [["Sun"], ["Sun", "Luna"]]
    assert parse_axis("Sat.SMA=7000,7100")[1] == [7000, 7100]  # unchanged
    # items are numbers only if all of them are, else names (as GMAT reads them)
    assert parse_axis("FM.PointMasses={Earth, 2}")[1] == [["Earth", "2"]]
    for token, needle in [
        ("FM.PointMasses={Earth, Luna", "unclosed '{'"),
        ("FM.PointMasses={Earth, {Luna}}", "is not a list value"),
        ("Arr.Value={1 nan}", "not finite"),
        ('FM.PointMasses=[["Sun", ["Luna"]]]', "nested lists are not supported"),
    ]:
        with pytest.raises(SpecError, match=needle):
            parse_axis(token)


def test_samples_take_list_cells_in_a_frame_and_braces_in_a_csv(tmp_path: Path) -> None:
    from gmat_sweep_dask.design.samples import read_table

    table = pd.DataFrame(
        {"FM.PointMasses": [["Earth"], ["Earth", "Luna"]], "Sat.SMA": [7000, 7100]}
    )
    samples = Samples(table)
    assert samples.overrides([1]) == [{"FM.PointMasses": ["Earth", "Luna"], "Sat.SMA": 7100}]
    assert samples.distinct_values()["FM.PointMasses"] == [["Earth"], ["Earth", "Luna"]]
    samples.save(tmp_path)
    again = Samples.from_header(samples.header(), tmp_path)
    assert again.overrides([0, 1]) == samples.overrides([0, 1])
    csv = tmp_path / "t.csv"
    csv.write_text('FM.PointMasses,Sat.SMA\n"{Earth, Luna}",7000\n{Earth},7100\n')
    assert read_table(csv)["FM.PointMasses"].tolist() == [["Earth", "Luna"], ["Earth"]]
    with pytest.raises(SpecError, match=r"mixes value types|mixes text"):
        Samples(pd.DataFrame({"FM.PointMasses": [["Earth"], "Earth"]}))


@pytest.mark.gmat
def test_list_overrides_change_the_run_and_are_recorded(example_script, engine_client, tmp_path):
    client = engine_client
    out = tmp_path / "lists"
    grid = {
        "Orbit.Add": [["Sat.UTCGregorian", "Sat.X"], ADD_XY],
        "EarthOnly.PointMasses": [["Earth"], ["Earth", "Luna"]],
        "Duration.Value": [600],
    }
    frame = sweep(example_script, grid=grid, out=out, client=client, progress=False)
    data = frame.compute()
    assert (data["status"] == "ok").all()
    # the report holds exactly the columns each run's Add lists
    for run_id, columns in enumerate([["Sat.X"]] * 2 + [["Sat.X", "Sat.Y"]] * 2):
        rows = data.loc[[run_id]]
        assert rows[columns].notna().all().all()
        assert ("Sat.Y" in columns) == rows["Sat.Y"].notna().any()
    assert "Sat.Z" not in data.columns
    # the frame shows list values as GMAT text; the manifest records JSON lists
    assert data.groupby(level=0)["EarthOnly.PointMasses"].first().tolist() == [
        "{Earth}", "{Earth, Luna}", "{Earth}", "{Earth, Luna}"
    ]  # fmt: skip
    assert data.loc[3, "Orbit.Add"].iloc[0] == "{Sat.UTCGregorian, Sat.X, Sat.Y}"
    assert entries(out)[3]["overrides"]["EarthOnly.PointMasses"] == ["Earth", "Luna"]
    assert json.loads((out / "manifest.jsonl").read_text().splitlines()[0])["design"]["axes"][
        1
    ] == ["EarthOnly.PointMasses", [["Earth"], ["Earth", "Luna"]]]
    assert data.groupby("EarthOnly.PointMasses").size().to_dict() == {
        "{Earth, Luna}": len(data.loc[[1, 3]]),
        "{Earth}": len(data.loc[[0, 2]]),
    }


def test_list_values_are_checked_against_the_field(example_script, tmp_path):
    for grid, needle in [
        ({"EarthOnly.PointMasses": ["Luna"]}, "expected a list of names like"),
        ({"EarthOnly.PointMasses": [[1.0, 2.0]]}, "expected a list of names like"),
        ({"Sat.SMA": [[7000.0, 7100.0]]}, "expected a number like"),
        ({"Orbit.Filename": [["a.txt"]]}, "expected text like"),
    ]:
        with pytest.raises(ScriptError, match=needle):
            sweep(example_script, grid=grid, out=tmp_path / "x", progress=False)
        assert not (tmp_path / "x").exists()


@pytest.mark.gmat
def test_an_empty_add_list_fails_its_run_as_gmat_refuses_the_script(
    example_script, engine_client, tmp_path
):
    client = engine_client
    out = tmp_path / "empty"
    grid = {"Orbit.Add": [[], ADD_XY], "EarthOnly.PointMasses": [[]], "Duration.Value": [600]}
    sweep(example_script, grid=grid, out=out, client=client, progress=False)
    recorded = entries(out)
    assert recorded[1]["status"] == "ok"  # an empty PointMasses is a valid force model
    assert recorded[0]["status"] == "failed"
    assert "could not parse" in recorded[0]["error"]


def test_a_list_field_on_a_shared_line_fails_its_run_clearly(client, tmp_path, example_script):
    script = tmp_path / "shared.script"
    text = example_script.read_text().replace(
        "EarthOnly.PointMasses = {Earth}", "EarthOnly.PointMasses = {Earth}; EarthOnly.Drag = None"
    )
    script.write_text(text)
    out = tmp_path / "shared"
    sweep(script, grid={"EarthOnly.PointMasses": [["Earth", "Luna"]], "Duration.Value": [60]},
          out=out, client=client, progress=False)  # fmt: skip
    (entry,) = entries(out).values()
    assert entry["status"] == "failed"
    assert "holds several statements" in entry["error"]
    assert not list(tmp_path.glob(".shared-*")) and not list(out.glob("script/.*"))


def test_the_cli_sweeps_braced_lists(example_script, tmp_path):
    out = tmp_path / "cli"
    result = subprocess.run(
        [sys.executable, "-m", "gmat_sweep_dask", "run", str(example_script),
         "--grid", "EarthOnly.PointMasses={Earth},{Earth, Luna}",
         "--grid", "Orbit.Add={Sat.UTCGregorian, Sat.X},{Sat.UTCGregorian, Sat.Y}",
         "--grid", "Duration.Value=600", "--out", str(out), "--workers", "1", "--quiet"],
        capture_output=True, text=True, timeout=300, env=os.environ.copy(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "4 runs: 4 ok" in result.stdout
    data = open_sweep(out).compute()
    assert data.loc[3, "Orbit.Add"].iloc[0] == "{Sat.UTCGregorian, Sat.Y}"
    assert data.loc[[3], "Sat.X"].isna().all() and data.loc[[3], "Sat.Y"].notna().all()
    bad = subprocess.run(
        [sys.executable, "-m", "gmat_sweep_dask", "run", str(example_script),
         "--grid", "EarthOnly.PointMasses={Earth, Luna", "--out", str(tmp_path / "bad")],
        capture_output=True, text=True, timeout=300, env=os.environ.copy(),
    )  # fmt: skip
    assert bad.returncode == 2 and "unclosed '{'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.real_gmat
def test_real_gmat_takes_list_overrides_its_api_cannot_write(real_client, tmp_path):
    out = tmp_path / "real"
    grid = {
        "EarthOnly.PointMasses": [["Earth"], ["Earth", "Luna", "Sun"]],
        "Positions.Add": [["Sat.UTCGregorian", "Sat.X"], ["Sat.UTCGregorian", "Sat.X", "Sat.Y"]],
    }
    data = sweep(REAL_SCRIPTS / "reference.script", grid=grid, out=out, client=real_client,
                 progress=False).compute()  # fmt: skip
    assert (data["status"] == "ok").all()
    assert data.loc[[0], "Sat.Y"].isna().all() and data.loc[[1], "Sat.Y"].notna().all()
    assert "Sat.Z" not in data.columns
    # third bodies move the satellite (a little, over 60 s): the override reached GMAT
    x_two_body = data.loc[0, "Sat.X"].iloc[-1]
    x_three_body = data.loc[2, "Sat.X"].iloc[-1]
    assert x_two_body != x_three_body
    assert abs(x_two_body - x_three_body) < 1e-3


@pytest.mark.real_gmat
def test_real_gmat_api_ignores_list_writes_as_the_standin_does(real_gmat_root, tmp_path):
    """Why lists go through script text: gmat-run's ``mission[f] = [...]`` leaves a list
    field of real GMAT R2026a unchanged (and crashes it for a ForceModel's PointMasses);
    the stand-in does the same (no crash), so no test passes on the stand-in only."""
    probe = (
        "from gmat_run import Mission\n"
        f"m = Mission.load({str(REAL_SCRIPTS / 'reference.script')!r})\n"
        "m['Positions.Add'] = ['Sat.UTCGregorian', 'Sat.X']\n"
        "print(m['Positions.Add'])\n"
    )
    for root in (real_gmat_root, Path(os.environ["GMAT_ROOT"])):
        env = {**os.environ, "GMAT_ROOT": str(root)}
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                env=env, timeout=120)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == str(
            ["Sat.UTCGregorian", "Sat.X", "Sat.Y", "Sat.Z"]
        )
