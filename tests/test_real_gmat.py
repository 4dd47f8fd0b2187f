"""The real_gmat tier: the walking path through the public API on real GMAT R2026a.

Runs on the engine ``tests/gmat_real/build.sh`` builds (``GMAT_SWEEP_DASK_REAL_GMAT_ROOT``,
set by ``tests/run.sh``); skipped without one. Real GMAT reports one row per integrator
step (PrinceDormand78 is adaptive), so the checks are physical or published: the team's
reference rows, periapsis = SMA(1 - ECC), the plane of the drawn inclination, energy along
the ephemeris, the burns of a Hohmann transfer.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE, REAL_SCRIPTS

from gmat_sweep_dask import (
    Manifest,
    ScriptError,
    Sweep,
    around,
    extend,
    monte_carlo,
    open_sweep,
    sweep,
    time_scale,
)
from gmat_sweep_dask.cli.overview import describe
from gmat_sweep_dask.design import Grid, Samples
from gmat_sweep_dask.execute import isolation

pytestmark = pytest.mark.real_gmat

MU = 398600.4415  # km^3/s^2, GMAT's Earth
REFERENCE = REAL_SCRIPTS / "reference.script"
# The reference mission's rows as published for real GMAT (elapsed s -> X, Y, Z in km).
PUBLISHED = {0.0: (6993.000000, 0.0, 0.0), 30.0: (6989.332373, 199.112254, 108.109133)}
TOL_KM = 1e-3
XYZ = ["Sat.X", "Sat.Y", "Sat.Z"]


def elapsed(data: pd.DataFrame) -> pd.Series:
    """Seconds since each run's first row."""
    start = data.groupby(level=0)["time"].transform("first")
    return (data["time"] - start).dt.total_seconds()


def entries(out: Path) -> dict[int, dict]:
    return Manifest.load(out / "manifest.jsonl", full=True).entries


def test_a_grid_of_the_reference_mission_gives_the_published_rows(real_client, tmp_path):
    out = tmp_path / "ref"
    grid = {"Sat.SMA": [7000.0, 7200.0], "Sat.ECC": [0.001, 0.01]}
    frame = sweep(REFERENCE, grid=grid, out=out, client=real_client, progress=False)
    data = frame.compute()
    assert sorted(data.index.unique()) == [0, 1, 2, 3] and (data["status"] == "ok").all()
    seconds = elapsed(data)
    for run_id in range(4):  # one row per integrator step: 30 s (InitialStepSize), then to 60 s
        assert seconds.loc[run_id].tolist() == [0.0, 30.0, 60.0]
    run0 = data.loc[0].set_index(seconds.loc[0])
    assert run0[["Sat.SMA", "Sat.ECC"]].iloc[0].tolist() == [7000.0, 0.001]
    for t, xyz in PUBLISHED.items():
        np.testing.assert_allclose(run0.loc[t, XYZ].to_numpy(float), xyz, rtol=0, atol=TOL_KM)
    first = data.groupby(level=0).first()
    periapsis = first["Sat.SMA"] * (1 - first["Sat.ECC"])
    np.testing.assert_allclose(first["Sat.X"], periapsis, rtol=0, atol=1e-6)
    assert "engine:   GMAT R2026a" in describe(out)
    assert time_scale(out) == "UTC"


def test_failed_real_runs_are_rows_with_gmat_s_own_error_and_log(real_client, tmp_path):
    out = tmp_path / "failing"
    table = pd.DataFrame({"Sat.ECC": [0.001, 0.99999, 0.001], "Sat.INC": [28.5, 28.5, 500.0]})
    frame = sweep(REFERENCE, samples=table, out=out, client=real_client, progress=False)
    recorded = entries(out)
    assert [recorded[r]["status"] for r in range(3)] == ["ok", "failed", "failed"]
    # Run 1 fails while it runs: the integrator cannot hold its accuracy near periapsis.
    assert recorded[1]["error"].startswith("GmatRunError")
    assert "Accuracy settings will be violated" in recorded[1]["log_tail"]
    assert "Mission run failed" in recorded[1]["log_tail"]
    # Run 2 never runs: GMAT rejects the value when it is set.
    assert recorded[2]["error"].startswith("GmatFieldError")
    assert "not an allowed value" in recorded[2]["error"]
    data = frame.compute()
    assert data.loc[[1, 2], "time"].isna().all() and len(data.loc[[0]]) == 3


def test_a_script_needing_a_plugin_is_refused_before_anything_runs(real_client, tmp_path):
    # This engine has no plugins: GroundStation and ContactLocator are unknown types.
    out = tmp_path / "contacts"
    with pytest.raises(ScriptError, match="could not parse") as refused:
        sweep(
            REAL_SCRIPTS / "contact.script",
            grid={"Sat.SMA": [7000.0]},
            out=out,
            client=real_client,
            progress=False,
        )
    assert 'The "GroundStation" is an unknown object type' in str(refused.value)
    assert "(line 27 of contact.script: Create GroundStation Station)" in str(refused.value)
    assert not (out / "manifest.jsonl").exists()


def test_monte_carlo_runs_fly_the_drawn_orbits_and_extend_like_a_fresh_sweep(real_client, tmp_path):
    perturb = {"Sat.SMA": ("normal", 7000.0, 20.0), "Sat.INC": around(("uniform", -2.0, 2.0))}
    options = {"perturb": perturb, "seed": 11, "client": real_client, "progress": False}
    out = tmp_path / "mc"
    data = monte_carlo(REFERENCE, n=12, out=out, **options).compute()
    assert (data["status"] == "ok").all() and data.index.nunique() == 12
    runs = data.groupby(level=0)
    first, params = runs.first(), runs[["Sat.SMA", "Sat.INC"]].first()
    assert params["Sat.SMA"].std() > 5 and params["Sat.INC"].between(26.5, 30.5).all()
    np.testing.assert_allclose(first["Sat.X"], params["Sat.SMA"] * 0.999, rtol=0, atol=1e-6)
    # RAAN = AOP = 0: the orbit plane is the x axis tilted by INC, so Z/Y = tan(INC).
    later = data[elapsed(data) == 30.0]
    plane = np.degrees(np.arctan2(later["Sat.Z"], later["Sat.Y"]))
    np.testing.assert_allclose(plane, params["Sat.INC"].loc[later.index], rtol=0, atol=1e-9)
    grown = extend(out, n=6, client=real_client, progress=False).compute()
    assert sorted(grown.index.unique()) == list(range(18))
    fresh = monte_carlo(REFERENCE, n=18, out=tmp_path / "fresh", **options).compute()
    pd.testing.assert_frame_equal(grown, fresh)


def test_a_run_past_its_timeout_is_killed_and_the_engine_comes_back(real_client, tmp_path):
    leo = EXAMPLE
    before = real_client.run(os.getpid)
    table = pd.DataFrame({"Duration.Value": [6000.0, 1.0e9, 6000.0]})  # run 1: 30 years
    out = tmp_path / "timeout"
    result = Sweep(leo, Samples(table), out, timeout=5).run(real_client, progress=False)
    assert result.counts == {"ok": 2, "failed": 1}
    recorded = entries(out)
    assert recorded[1]["error"].startswith("timeout")
    assert real_client.run(os.getpid) == before  # the engine process died, not the worker
    # The worker whose engine process was killed starts a fresh one, on real GMAT again.
    victim = recorded[1]["worker"]
    request = [(0, {"Duration.Value": 60.0}, None)]
    again = real_client.submit(
        isolation.run_isolated, str(leo), request, None, workers=[victim], pure=False
    ).result()
    assert again[0].status == "ok" and again[0].tables


def test_report_and_ephemeris_outputs_of_one_propagation(real_client, tmp_path):
    script = REAL_SCRIPTS / "ephemeris.script"
    out = tmp_path / "eph"
    grid = {"Sat.SMA": [7000.0, 7100.0, 7300.0]}
    report = sweep(script, grid=grid, out=out, client=real_client, report="Orbit", progress=False)
    orbit = report.compute()
    eph = open_sweep(out, kind="ephemeris").compute()
    assert (eph["status"] == "ok").all() and eph.index.nunique() == 3
    assert {"X", "Y", "Z", "VX", "VY", "VZ"} <= set(eph.columns)
    for run_id in range(3):
        # The EphemerisFile samples its own 60 s grid, ending at the stop epoch...
        steps = elapsed(eph).loc[run_id].to_numpy()
        np.testing.assert_array_equal(steps, [*np.arange(0.0, 5828.0, 60.0), 5828.0])
        # ...the ReportFile one row per integrator step, also ending there.
        assert elapsed(orbit).loc[run_id].iloc[-1] == 5828.0
    assert orbit.groupby(level=0).size().nunique() > 1  # step counts depend on the orbit
    # Where both have a row (60 s, the first integrator step) they agree.
    at60 = eph[elapsed(eph) == 60.0][["X", "Y", "Z"]].to_numpy()
    report60 = orbit[elapsed(orbit) == 60.0][XYZ].to_numpy()
    np.testing.assert_allclose(at60, report60, rtol=0, atol=1e-6)
    # Two-body energy along each ephemeris is that of the swept SMA.
    r = np.linalg.norm(eph[["X", "Y", "Z"]].to_numpy(), axis=1)
    v = np.linalg.norm(eph[["VX", "VY", "VZ"]].to_numpy(), axis=1)
    sma = eph.groupby(level=0)["Sat.SMA"].transform("first").to_numpy()
    # (1e-6: the file interpolates between integrator steps, centimetres off the orbit)
    np.testing.assert_allclose(v**2 / 2 - MU / r, -MU / (2 * sma), rtol=1e-6)
    assert time_scale(out, kind="ephemeris") == "UTC"
    # The same ephemeris in STK's format (the stand-in writes only CCSDS-OEM).
    stk = tmp_path / "stk"
    stk_grid = {**grid, "Eph.FileFormat": ["STK-TimePosVel"], "Eph.Filename": ["sat.e"]}
    sweep(script, grid=stk_grid, out=stk, client=real_client, report="Orbit", progress=False)
    as_stk = open_sweep(stk, kind="ephemeris").compute()
    np.testing.assert_allclose(
        as_stk[["X", "Y", "Z", "VX", "VY", "VZ"]], eph[["X", "Y", "Z", "VX", "VY", "VZ"]], atol=1e-6
    )
    drift = (as_stk["time"] - eph["time"]).dt.total_seconds().abs()
    assert drift.max() < 1e-5  # STK epochs are seconds since the scenario epoch, as floats


def test_an_stk_ephemeris_is_never_staged_where_another_gmat_can_meet_it(real_client, tmp_path):
    # GMAT writes an STK ephemeris to <TMP>/<its file name> first and copies it at the end:
    # with TMP shared (default /tmp), parallel runs writing the same name overwrite each
    # other's file, and a run whose staging name is taken (here: a directory) hangs.
    shared = tmp_path / "shared-tmp"
    (shared / "sat.e").mkdir(parents=True)

    def use_tmp(value: str | None) -> None:
        if value is None:
            os.environ.pop("TMP", None)
        else:
            os.environ["TMP"] = value
        isolation.shutdown()  # the next engine process inherits it

    out = tmp_path / "stk"
    grid = {
        "Sat.SMA": [7000.0, 7200.0],
        "Eph.FileFormat": ["STK-TimePosVel"],
        "Eph.Filename": ["sat.e"],
    }
    real_client.run(use_tmp, str(shared))
    try:
        script = REAL_SCRIPTS / "ephemeris.script"
        result = Sweep(script, Grid(grid), out, timeout=20).run(real_client, progress=False)
    finally:
        real_client.run(use_tmp, None)
    assert result.counts == {"ok": 2}, entries(out)
    eph = open_sweep(out, kind="ephemeris").compute()
    assert eph.groupby(level=0).size().tolist() == [99, 99]
    staged = [p.name for p in shared.iterdir() if p.name.startswith("sat.e")]
    assert staged == ["sat.e"] and not any((shared / "sat.e").iterdir())  # nothing went there


def hohmann_burns(r1: float, a1: float, r2: float) -> tuple[float, float]:
    """The two burns (km/s) from radius r1 on an orbit of SMA a1 to a circular orbit r2."""
    transfer = (r1 + r2) / 2
    first = math.sqrt(MU * (2 / r1 - 1 / transfer)) - math.sqrt(MU * (2 / r1 - 1 / a1))
    second = math.sqrt(MU / r2) - math.sqrt(MU * (2 / r2 - 1 / transfer))
    return first, second


def test_targeting_from_each_initial_guess_reaches_the_hohmann_burns(real_client, tmp_path):
    out = tmp_path / "hohmann"
    guesses = [0.0, 0.5, 1.0, 2.0, 1.0]
    table = pd.DataFrame({"Guess.Value": guesses, "DC.MaximumIterations": [25, 25, 25, 25, 2]})
    script = REAL_SCRIPTS / "hohmann.script"
    sweep(script, samples=table, out=out, client=real_client, report="Final", progress=False)
    # GMAT's run succeeds whether or not the targeter converged (ExitMode SaveAndContinue).
    assert all(e["status"] == "ok" for e in entries(out).values())
    solver = open_sweep(out, kind="solver").compute()
    assert set(solver["solver"]) == {"DC"}
    toi, goi = hohmann_burns(6993.0, 7000.0, 12000.0)
    for run_id, guess in enumerate(guesses):
        table_of_run = solver.loc[[run_id]]
        n = len(table_of_run)
        assert table_of_run["iteration"].tolist() == list(range(1, n + 1))
        assert table_of_run["TOI.Element1"].iloc[0] == guess  # iteration 1 is the guess
        assert (table_of_run["solver_status"].iloc[:-1] == "running").all()
        last = table_of_run.iloc[-1]
        if run_id == 4:  # MaximumIterations = 2: stopped before converging
            assert n == 2 and last["solver_status"] == "max_iter"
            assert abs(last["Sat.Earth.RMAG_residual"]) > last["Sat.Earth.RMAG_tolerance"]
            continue
        assert last["solver_status"] == "converged"
        assert abs(last["Sat.Earth.RMAG_residual"]) <= last["Sat.Earth.RMAG_tolerance"]
        assert abs(last["Sat.Earth.ECC_residual"]) <= last["Sat.Earth.ECC_tolerance"]
        assert last["TOI.Element1"] == pytest.approx(toi, abs=1e-3)
        assert last["GOI.Element1"] == pytest.approx(goi, abs=1e-3)
    final = open_sweep(out, "Final").compute().groupby(level=0).last()
    assert final.loc[[0, 1, 2, 3], "Sat.Earth.SMA"].sub(12000.0).abs().max() < 0.5
    assert final.loc[4, "Sat.Earth.ECC"] > 1e-3  # the unconverged transfer is not circular
