"""Overrides GMAT's API cannot apply go through the script text: a ForceModel's and a
Propagator's fields (the Propagator flies its own copy, made when the script is read),
a Spacecraft's CoordinateSystem; the literal each is written as."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, REAL_SCRIPTS

from gmat_sweep_dask import Manifest, open_sweep, sweep
from gmat_sweep_dask.analysis.failures import explain
from gmat_sweep_dask.execute.scripttext import in_text, literal, rule, script_with


def entries(out: Path) -> dict[int, dict]:
    return Manifest.load(out / "manifest.jsonl", full=True).entries


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("Luna", "Luna"),
        ("On", "On"),
        ("RungeKutta89", "RungeKutta89"),
        ("JGM3.cof", "'JGM3.cof'"),  # bare, a dotted name would read as a parameter
        ("01 Jan 2026 00:00:00.000", "'01 Jan 2026 00:00:00.000'"),
        ("30", "30"),
        (7100.5, "7100.5"),
        (4, "4"),
        (True, "true"),
        (["Earth", "Luna"], "{Earth, Luna}"),
    ],
)
def test_a_value_is_written_as_a_script_would_write_it(value, text) -> None:
    assert literal(value) == text


@pytest.mark.parametrize("value", ["it's", "two\nlines", "cr\r"])
def test_text_no_script_line_can_hold_is_refused_by_name(value) -> None:
    with pytest.raises(ValueError, match=r"cannot write .* into a script"):
        literal(value)


def test_force_model_propagator_and_frame_fields_go_through_the_text(tmp_path) -> None:
    from gmat_run import Mission

    mission = Mission.load(EXAMPLE)
    overrides = {
        "EarthOnly.CentralBody": "Luna",
        "Integrator.Type": "RungeKutta89",
        "Integrator.Accuracy": 1e-10,
        "Sat.CoordinateSystem": "EarthMJ2000Eq",
        "Sat.SMA": 7100.0,
        "Duration.Value": 600.0,
        "EarthOnly.PointMasses": ["Earth"],  # a list: written by the list path
        "Nobody.Field": 1.0,  # no such resource: gmat-run's write reports it
    }
    rules = {field: rule(mission.gmat, field) for field in overrides}
    assert in_text(overrides, rules) == {
        "EarthOnly.CentralBody": "Luna",
        "Integrator.Type": "RungeKutta89",
        "Sat.CoordinateSystem": "EarthMJ2000Eq",
    }  # a Propagator's Accuracy takes an API write (and GMAT's own error when refused)
    with script_with(str(EXAMPLE), {"EarthOnly.CentralBody": "Luna"}) as copy:
        text = Path(copy).read_text()
    assert "EarthOnly.CentralBody = Luna" in text and not Path(copy).exists()


def test_a_force_model_field_is_flown_not_only_held(client, tmp_path) -> None:
    # The stand-in flies point-mass Earth only: a central body of Luna fails the run once
    # it reaches the run. Through gmat-run's API it read back 'Luna' and flew Earth, ok.
    out = tmp_path / "central"
    sweep(EXAMPLE, grid={"EarthOnly.CentralBody": ["Earth", "Luna"]}, out=out, client=client,
          progress=False)  # fmt: skip
    recorded = entries(out)
    assert [recorded[r]["status"] for r in range(2)] == ["ok", "failed"]
    assert recorded[1]["error"].startswith(
        "GmatLoadError: GMAT could not parse the script with EarthOnly.CentralBody='Luna' written"
    )  # the stand-in checks it at load, and says why in its log
    why = explain(recorded[1]["error"], recorded[1]["log_tail"])
    assert why.reason == "GMAT could not load the script"
    assert why.gmat_says and why.gmat_says.endswith("the stand-in supports CentralBody Earth")


@pytest.mark.real_gmat
def test_real_gmat_flies_the_force_model_and_integrator_each_run_sets(real_client, tmp_path):
    day = tmp_path / "reference_1_day.script"
    text = (REAL_SCRIPTS / "reference.script").read_text()
    day.write_text(text.replace("{Sat.ElapsedSecs = 60}", "{Sat.ElapsedDays = 1}"))
    table = pd.DataFrame(
        {
            "EarthOnly.CentralBody": ["Earth", "Luna", "Earth", "Earth"],
            "EarthOnly.ErrorControl": ["RSSStep", "RSSStep", "None", "RSSStep"],
            "Integrator.Type": ["PrinceDormand78", "PrinceDormand78", "PrinceDormand78",
                                "RungeKutta89"],
        }
    )  # fmt: skip
    frame = sweep(day, samples=table, out=tmp_path / "fm", client=real_client, progress=False)
    assert {r: e["status"] for r, e in entries(tmp_path / "fm").items()} == dict.fromkeys(
        range(4), "ok"
    )
    data = frame.compute()
    last = data.groupby(level=0)[["Sat.X", "Sat.Y", "Sat.Z"]].last()
    rows = data.groupby(level=0).size()
    for run_id in (1, 2, 3):  # each flies something else than run 0 (the script's own)
        moved = math.dist(last.loc[0], last.loc[run_id])
        assert moved > 1e-6 or rows[run_id] != rows[0], (run_id, moved, rows.tolist())


@pytest.mark.gmat
def test_report_layout_and_ephemeris_step_fields_change_the_outputs(engine_client, tmp_path):
    # GMAT's API takes no text for an On/Off field (R2026a: "LeftJustify expects a OnOff
    # value, but the received value is a string") and gmat-run writes only text to
    # StepSize: every run of such a sweep failed, and StepSize=60,120 was refused outright.
    out = tmp_path / "layout"
    table = pd.DataFrame(
        {
            "Orbit.LeftJustify": ["On", "Off", "on"],
            "Orbit.ZeroFill": ["Off", "On", "Off"],
            "Eph.StepSize": [60, 120, 90.5],
        }
    )
    sweep(REAL_SCRIPTS / "ephemeris.script", samples=table, out=out, client=engine_client,
          report="Orbit", keep_raw=True, progress=False)  # fmt: skip
    recorded = entries(out)
    assert [recorded[r]["status"] for r in range(3)] == ["ok"] * 3, recorded
    header = [(out / "runs" / str(r) / "orbit.txt").read_text().splitlines()[:2] for r in range(3)]
    assert header[0][0].startswith("Sat.UTCGregorian ")  # left-justified, as the script has it
    assert header[1][0].startswith("   ") and header[1][0].endswith("Sat.Earth.Altitude")
    assert "0.000000000000000 " in header[1][1] and " 0 " in header[0][1]  # zeros filled
    eph = open_sweep(out, kind="ephemeris").compute()
    seconds = (eph["time"] - eph.groupby(level=0)["time"].transform("first")).dt.total_seconds()
    assert seconds.loc[0].iloc[1] == 60.0 and seconds.loc[1].iloc[1] == 120.0
    assert seconds.loc[2].iloc[1] == 90.5 and len(seconds.loc[1]) < len(seconds.loc[0])
    frame = open_sweep(out, report="Orbit").compute()
    assert frame.groupby(level=0)["Sat.X"].first().tolist() == [6993.0] * 3  # read alike


def test_a_run_loads_its_script_once_when_its_fields_are_known(tmp_path, monkeypatch) -> None:
    # A ForceModel field's run loaded the script twice, every run: once to learn that the
    # field goes through the text, then the copy holding it.
    from gmat_run import Mission

    from gmat_sweep_dask.execute.engine import execute

    loads: list[str] = []
    load = Mission.load

    def counted(path, *args, **kwargs):
        loads.append(Path(path).name)
        return load(path, *args, **kwargs)

    monkeypatch.setattr(Mission, "load", counted)
    script = tmp_path / "leo.script"
    script.write_text(EXAMPLE.read_text())
    overrides = {"EarthOnly.CentralBody": "Earth", "Sat.SMA": 7100.0}
    counts = []
    for run_id, edit in enumerate(["", "", "% an edit: another script\n", ""]):
        script.write_text(script.read_text() + edit)
        loads.clear()
        result = execute(str(script), run_id, overrides, tmp_path / f"run{run_id}")
        assert result.status == "ok", result.error
        assert loads[-1].startswith(".leo-")  # the copy holding the force model's field
        counts.append(len(loads))
    assert counts == [2, 1, 2, 1]  # the field is learnt once per script content


@pytest.mark.gmat
def test_a_number_for_a_text_field_keeps_its_place_among_the_run_s_writes(engine_client, tmp_path):
    # A number for Sat.Epoch went into the script text, so it was read in the script's own
    # A1ModJulian before Sat.DateFormat = UTCModJulian was written: 37 s early, recorded ok.
    script = tmp_path / "mjd.script"
    text = (REAL_SCRIPTS / "reference.script").read_text()
    text = text.replace("Sat.DateFormat = UTCGregorian", "Sat.DateFormat = A1ModJulian")
    script.write_text(text.replace("'01 Jan 2026 00:00:00.000'", "'31041.5'"))
    out = tmp_path / "s"
    grid = {"Sat.DateFormat": ["UTCModJulian"], "Sat.Epoch": [31042.5]}
    frame = sweep(script, grid=grid, out=out, client=engine_client, progress=False).compute()
    assert frame["time"].iloc[0] == pd.Timestamp("2026-01-02 00:00:00")  # 31042.5 UTC


@pytest.mark.real_gmat
def test_real_gmat_reports_in_the_axes_each_run_gives_a_coordinate_system(real_client, tmp_path):
    # R2026a ignores an API write of a CoordinateSystem's Axes (made when the script is
    # read): every run with other axes failed "GMAT did not keep MyCS.Axes".
    script = tmp_path / "frame.script"
    text = (REAL_SCRIPTS / "reference.script").read_text()
    text = text.replace("Create ForceModel", "Create CoordinateSystem MyCS\nMyCS.Origin = Earth\n"
                        "MyCS.Axes = MJ2000Eq\n\nCreate ForceModel")  # fmt: skip
    script.write_text(text.replace("Sat.X, Sat.Y, Sat.Z}", "Sat.X, Sat.MyCS.X, Sat.MyCS.Y}"))
    out = tmp_path / "axes"
    grid = {"MyCS.Axes": ["MJ2000Eq", "BodyFixed"]}
    frame = sweep(script, grid=grid, out=out, client=real_client, progress=False).compute()
    assert (frame["status"] == "ok").all(), entries(out)
    first = frame.groupby(level=0)[["Sat.X", "Sat.MyCS.X"]].first()
    assert first.loc[0, "Sat.MyCS.X"] == first.loc[0, "Sat.X"] == 6993.0
    assert abs(first.loc[1, "Sat.MyCS.X"] - 6993.0) > 1000  # the Earth has turned
