"""Overrides GMAT's API cannot apply go through the script text: a ForceModel's and a
Propagator's fields (the Propagator flies its own copy, made when the script is read),
a Spacecraft's CoordinateSystem; the literal each is written as."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, REAL_SCRIPTS

from gmat_sweep_dask import Manifest, sweep
from gmat_sweep_dask.analysis.failures import explain
from gmat_sweep_dask.execute.scripttext import held_by_copy, literal, script_with


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
    assert held_by_copy(mission, overrides) == {
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
