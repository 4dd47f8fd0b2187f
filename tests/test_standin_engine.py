"""The GMAT stand-in engine, driven only through the real gmat-run API.

Everything goes through ``gmat_run.Mission`` with ``GMAT_ROOT`` pointing at
``tests/gmat_standin/root`` — gmat-run's own install discovery, bootstrap, field access,
output redirection and parsers. Crash and hang faults run in a subprocess.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gmat_run import GmatFieldError, GmatLoadError, GmatRunError, Mission, locate_gmat
from gmat_standin import ROOT, SCRIPTS, environ

LEO = SCRIPTS / "leo.script"
FAULTS = SCRIPTS / "leo_faults.script"
OUTPUTS = SCRIPTS / "leo_outputs.script"
MU = 398600.4415
# Real GMAT R2026a, leo.script: (UTCGregorian, X, Y, Z) of the first two report rows.
REFERENCE = [
    ("2026-01-01 00:00:00", 6993.000000, 0.000000, 0.000000),
    ("2026-01-01 00:00:30", 6989.332373, 199.112254, 108.109133),
]


@pytest.fixture(autouse=True)
def _standin_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GMAT_ROOT", str(ROOT))
    for knob in (
        "GMAT_STANDIN_DELAY",
        "GMAT_STANDIN_FAULT",
        "GMAT_STANDIN_RUN_LOG",
        "GMAT_STANDIN_GATE",
        "GMAT_STANDIN_GATE_FREE",
    ):
        monkeypatch.delenv(knob, raising=False)


def variant(tmp_path: Path, base: Path, replace: dict[str, str], name: str = "v.script") -> Path:
    """A copy of ``base`` with each ``old -> new`` text replacement applied."""
    text = base.read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def write(tmp_path: Path, text: str, name: str = "s.script") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def run_report(script: Path, tmp_path: Path, name: str = "Positions", **overrides) -> pd.DataFrame:
    mission = Mission.load(script)
    for path, value in overrides.items():
        mission[path.replace("__", ".")] = value
    return mission.run(working_dir=tmp_path / "run", overwrite=True).reports[name]


def python(code: str, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


# --- install layout -------------------------------------------------------------------------


def test_root_is_a_gmat_install_for_gmat_run() -> None:
    install = locate_gmat()
    assert install.root == ROOT
    assert install.version == "R2026a"
    assert (ROOT / "bin" / "api_startup_file.txt").is_file()
    mission = Mission.load(LEO)
    assert mission.gmat.__gmat_standin__ is True
    assert repr(mission) == "Mission('leo.script', spacecraft=1, commands=1)"
    summary = mission.summary()
    assert [c.type_name for c in summary.commands] == ["Propagate"]
    assert {g.category for g in summary.output_resources} == {"ReportFile"}


# --- physics --------------------------------------------------------------------------------


def test_reference_rows_match_real_gmat_to_well_under_a_metre(tmp_path: Path) -> None:
    df = run_report(LEO, tmp_path)
    assert len(df) == 3  # 0, 30 s (InitialStepSize), 60 s (stop condition)
    assert df["Sat.UTCGregorian"].iloc[-1] == pd.Timestamp("2026-01-01 00:01:00")
    for row, (stamp, *xyz) in zip(df.itertuples(index=False), REFERENCE, strict=False):
        assert row[0] == pd.Timestamp(stamp)
        assert np.max(np.abs(np.array(row[1:]) - np.array(xyz))) < 1e-4  # km: < 0.1 m


def test_periapsis_stop_takes_one_kepler_period_and_grows_with_sma(tmp_path: Path) -> None:
    script = variant(
        tmp_path,
        LEO,
        {
            "{Sat.ElapsedSecs = 60}": "{Sat.Periapsis}",
            "{Sat.UTCGregorian, Sat.X, Sat.Y, Sat.Z}": "{Sat.ElapsedSecs, Sat.X, Sat.Y, Sat.Z}",
        },
    )
    periods = {}
    for sma in (7000.0, 7100.0):
        df = run_report(script, tmp_path, Sat__SMA=sma)
        periods[sma] = df["Sat.ElapsedSecs"].iloc[-1]
        assert periods[sma] == pytest.approx(2 * math.pi * math.sqrt(sma**3 / MU), rel=1e-10)
        first, last = df.iloc[0], df.iloc[-1]
        assert first["Sat.X"] == pytest.approx(sma * (1 - 0.001), abs=1e-9)
        for axis in "XYZ":  # back at periapsis
            assert last[f"Sat.{axis}"] == pytest.approx(first[f"Sat.{axis}"], abs=1e-6)
    assert periods[7100.0] > periods[7000.0]


def test_two_body_invariants_hold_over_many_orbits(tmp_path: Path) -> None:
    script = variant(
        tmp_path,
        LEO,
        {
            "{Sat.ElapsedSecs = 60}": "{Sat.ElapsedDays = 2}",
            "Integrator.InitialStepSize = 30": "Integrator.InitialStepSize = 600",
            "{Sat.UTCGregorian, Sat.X, Sat.Y, Sat.Z}": (
                "{Sat.ElapsedDays, Sat.Earth.SMA, Sat.Earth.ECC, Sat.INC, Sat.RAAN, Sat.RMAG}"
            ),
        },
    )
    df = run_report(script, tmp_path)
    assert df["Sat.ElapsedDays"].iloc[-1] == pytest.approx(2.0)
    assert len(df) == 2 * 86400 // 600 + 1
    np.testing.assert_allclose(df["Sat.Earth.SMA"], 7000.0, rtol=1e-10)
    np.testing.assert_allclose(df["Sat.Earth.ECC"], 0.001, rtol=1e-7)
    np.testing.assert_allclose(df["Sat.INC"], 28.5, atol=1e-9)
    assert df["Sat.RMAG"].between(6993.0 - 1e-6, 7007.0 + 1e-6).all()


def test_hyperbolic_orbits_propagate_and_open_orbit_apoapsis_fails(tmp_path: Path) -> None:
    hyper = {
        "Sat.SMA = 7000\nSat.ECC = 0.001": "Sat.ECC = 1.5\nSat.SMA = -20000",
        "{Sat.UTCGregorian, Sat.X, Sat.Y, Sat.Z}": "{Sat.Earth.SMA, Sat.ECC, Sat.RMAG}",
        "{Sat.ElapsedSecs = 60}": "{Sat.ElapsedSecs = 3600}",
    }
    df = run_report(variant(tmp_path, LEO, hyper), tmp_path)
    np.testing.assert_allclose(df["Sat.Earth.SMA"], -20000.0, rtol=1e-9)
    np.testing.assert_allclose(df["Sat.ECC"], 1.5, rtol=1e-9)
    assert df["Sat.RMAG"].iloc[0] == pytest.approx(10000.0)
    assert df["Sat.RMAG"].is_monotonic_increasing
    apoapsis = {**hyper, "{Sat.ElapsedSecs = 60}": "{Sat.Apoapsis}"}
    script = variant(tmp_path, LEO, apoapsis, name="apoapsis.script")
    with pytest.raises(GmatRunError, match="status") as err:
        Mission.load(script).run(working_dir=tmp_path / "apo")
    assert "never reached" in err.value.log


# --- overrides and validation ---------------------------------------------------------------


def test_overrides_change_outputs_and_round_trip(tmp_path: Path) -> None:
    mission = Mission.load(FAULTS)
    assert mission["Sat.SMA"] == 7000.0
    mission["Sat.SMA"] = 7100
    assert mission["Sat.SMA"] == 7100.0
    mission["StandinDelay.Value"] = 0.001
    assert mission["StandinDelay.Value"] == 0.001
    assert mission["Positions.Precision"] == 16
    mission["Positions.Precision"] = 10
    assert mission["Positions.WriteHeaders"] is True
    assert mission["Positions.Add"] == ["Sat.UTCGregorian", "Sat.X", "Sat.Y", "Sat.Z"]
    assert mission["Integrator.Type"] == "PrinceDormand78"
    df = mission.run(working_dir=tmp_path / "run").reports["Positions"]
    assert df["Sat.X"].iloc[0] == pytest.approx(7100 * 0.999, abs=1e-6)
    assert mission["Positions.Filename"] == "positions.txt"  # gmat-run restored it


def test_variables_drive_stop_conditions_and_round_trip(tmp_path: Path) -> None:
    script = variant(
        tmp_path,
        LEO,
        {
            "Create ReportFile": "Create Variable Duration\nDuration = 6000\n\nCreate ReportFile",
            "{Sat.ElapsedSecs = 60}": "{Sat.ElapsedSecs = Duration}",
            "Sat.Z}": "Sat.Z, Sat.Earth.Altitude}",
            "Integrator.InitialStepSize = 30": "Integrator.InitialStepSize = 60",
        },
    )
    mission = Mission.load(script)
    assert mission["Duration.Value"] == 6000.0
    mission["Duration.Value"] = 1530
    assert mission["Duration.Value"] == 1530.0
    df = mission.run(working_dir=tmp_path / "run").reports["Positions"]
    elapsed = (df["Sat.UTCGregorian"].iloc[-1] - df["Sat.UTCGregorian"].iloc[0]).total_seconds()
    assert elapsed == 1530.0
    assert len(df) == 27  # every 60 s up to 1500 s, then the stop at 1530 s
    mission["Duration.Value"] = 1500
    df = mission.run(working_dir=tmp_path / "again").reports["Positions"]
    assert len(df) == 26  # the stop falls on a step: no duplicate row
    assert df["Sat.Earth.Altitude"].iloc[0] == pytest.approx(6993.0 - 6378.1363)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("Sat.SMA", 0.0),
        ("Sat.SMA", 0.0009),
        ("Sat.INC", 500.0),
        ("Sat.INC", -1.0),
        ("Sat.ECC", 1.0),
        ("Sat.DryMass", -1.0),
        ("Integrator.Accuracy", 0.0),
        ("Sat.DisplayStateType", "Nonsense"),
    ],
)
def test_invalid_values_are_rejected_like_gmat(path: str, value: object) -> None:
    mission = Mission.load(LEO)
    with pytest.raises(GmatFieldError, match="is not an allowed value"):
        mission[path] = value


def test_an_impossible_epoch_is_rejected_in_gmat_s_words() -> None:
    mission = Mission.load(LEO)
    with pytest.raises(GmatFieldError, match=r'Gregorian date "32 Jan 2026 00:00:00\.000" is not'):
        mission["Sat.Epoch"] = "32 Jan 2026 00:00:00.000"


def test_hyperbolic_and_subsurface_orbits_are_accepted_when_set() -> None:
    mission = Mission.load(LEO)
    mission["Sat.SMA"] = 3000.0  # periapsis inside the Earth
    mission["Sat.ECC"] = 1.5
    assert (mission["Sat.ECC"], mission["Sat.SMA"]) == (1.5, -3000.0)  # GMAT flips SMA's sign
    mission["Sat.SMA"] = -7000.0
    mission["Sat.ECC"] = -0.1  # a negative ECC is read as its magnitude: an ellipse again
    assert (mission["Sat.ECC"], mission["Sat.SMA"]) == (0.1, 7000.0)


def test_unknown_fields_and_resources_are_field_errors() -> None:
    mission = Mission.load(LEO)
    with pytest.raises(GmatFieldError, match="did you mean: SMA"):
        mission["Sat.SMAA"] = 7000.0
    with pytest.raises(GmatFieldError, match="unknown resource"):
        mission["Nope.SMA"]
    with pytest.raises(GmatFieldError, match="type mismatch"):
        mission["Sat.SMA"] = "7000"


def test_a_massless_spacecraft_fails_the_run_with_the_log(tmp_path: Path) -> None:
    mission = Mission.load(LEO)
    mission["Sat.DryMass"] = 0.0  # accepted when set, refused by the force model at run time
    with pytest.raises(GmatRunError) as err:
        mission.run(working_dir=tmp_path / "run")
    assert "Total spacecraft mass is less than zero" in err.value.log
    assert err.value.log.rstrip().splitlines()[-2] == " *** Mission run failed."


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("Create Spacecraft Sat\nSat.SMA = 7000 +\n", "line 2"),
        ("Create Spacecraft Sat\nSat.SMA = 0\n", "not an allowed value"),
        ("Create Spacecraft Sat\nCreate Spacecraft Sat\n", "already exists"),
        ("Create Spacecraft Sat\nBeginMissionSequence\nPropagate Nowhere(Sat)\n", "Nowhere"),
        ("Create Spacecraft Sat\nfrobnicate\n", "unsupported"),
        ("Create Spacecraft Sat\nCreate ReportFile R\nR.Add = {Sat.Bogus}\n", "Sat.Bogus"),
        (
            "Create Spacecraft Sat\nCreate Propagator P\nBeginMissionSequence\n"
            "Propagate P(Sat) {Sat.TA = 90}\n",
            "stop condition",
        ),
    ],
)
def test_bad_scripts_are_load_errors_with_the_reason_in_the_log(
    tmp_path: Path, text: str, needle: str
) -> None:
    gmat = Mission.load(LEO).gmat
    log = tmp_path / "GmatLog.txt"
    gmat.UseLogFile(str(log))
    try:
        with pytest.raises(GmatLoadError):
            Mission.load(write(tmp_path, text))
    finally:
        gmat.UseLogFile(os.devnull)
    assert "**** ERROR ****" in log.read_text() and needle in log.read_text()


# --- script syntax --------------------------------------------------------------------------


def test_gui_style_scripts_generic_resources_and_mission_assignments(tmp_path: Path) -> None:
    script = write(
        tmp_path,
        """\
        %----- saved by the GMAT GUI
        Create Spacecraft Sat; Create Variable T;
        GMAT Sat.DateFormat = UTCGregorian;  % unquoted epoch below, like old scripts
        GMAT Sat.Epoch = 01 Jan 2026 00:00:00.000;
        GMAT Sat.DisplayStateType = Keplerian;
        GMAT Sat.SMA = 7000; GMAT Sat.ECC = 0.001; GMAT Sat.INC = 28.5;
        GMAT Sat.RAAN = 0; GMAT Sat.AOP = 0; GMAT Sat.TA = 0;
        Create ImpulsiveBurn Burn1;
        GMAT Burn1.Axes = VNB;
        GMAT Burn1.Element1 = 0.1;
        Create Propagator Prop;
        GMAT Prop.InitialStepSize = 60;
        GMAT T = 60;
        Create ReportFile R;
        GMAT R.Add = {Sat.ElapsedSecs, ...
                      Sat.Earth.SMA, T};
        BeginMissionSequence;
        T = 120;
        Propagate Prop(Sat) {Sat.ElapsedSecs = T};
        GMAT Sat.SMA = 8000;
        Propagate Prop(Sat, {Sat.ElapsedSecs = 60});
        """,
    )
    mission = Mission.load(script)
    assert mission["Burn1.Element1"] == 0.1 and mission["Burn1.Axes"] == "VNB"
    assert mission["Sat.Epoch"] == "01 Jan 2026 00:00:00.000"
    assert len(mission.summary().commands) == 4
    df = mission.run(working_dir=tmp_path / "run").reports["R"]
    # 0, 60, 120 | 120 (a Propagate publishes its start), 180: rows repeat at the boundary
    assert df["Sat.ElapsedSecs"].tolist() == [0, 60, 120, 120, 180]
    assert df["T"].tolist() == [120] * 5
    assert df["Sat.Earth.SMA"].iloc[:3].tolist() == pytest.approx([7000.0] * 3)
    assert df["Sat.Earth.SMA"].iloc[3:].tolist() == pytest.approx([8000.0] * 2)
    assert mission["T.Value"] == 60.0  # the run worked on copies, like GMAT's sandbox
    assert mission["Sat.SMA"] == 7000.0


def test_epoch_override_shifts_the_time_column_only(tmp_path: Path) -> None:
    base = run_report(LEO, tmp_path)
    shifted = run_report(LEO, tmp_path, Sat__Epoch="02 Jan 2026 12:00:00.000")
    delta = shifted["Sat.UTCGregorian"] - base["Sat.UTCGregorian"]
    assert (delta == pd.Timedelta(days=1, hours=12)).all()
    np.testing.assert_allclose(
        shifted[["Sat.X", "Sat.Y", "Sat.Z"]], base[["Sat.X", "Sat.Y", "Sat.Z"]], atol=1e-9
    )
    mission = Mission.load(LEO)
    mission["Sat.DateFormat"] = "UTCModJulian"
    assert mission["Sat.Epoch"] == "31041.5"  # 2026-01-01 00:00 UTC in GMAT's MJD


def test_time_scales_are_consistent(tmp_path: Path) -> None:
    script = variant(
        tmp_path,
        LEO,
        {
            "{Sat.UTCGregorian, Sat.X, Sat.Y, Sat.Z}": (
                "{Sat.UTCModJulian, Sat.TAIModJulian, Sat.A1ModJulian}"
            )
        },
    )
    df = run_report(script, tmp_path)
    assert df["Sat.UTCModJulian"].iloc[0] == pd.Timestamp("2026-01-01")
    tai = (df["Sat.TAIModJulian"] - df["Sat.UTCModJulian"]).dt.total_seconds()
    a1 = (df["Sat.A1ModJulian"] - df["Sat.TAIModJulian"]).dt.total_seconds()
    np.testing.assert_allclose(tai, 37.0, atol=1e-5)
    np.testing.assert_allclose(a1, 0.0343817, atol=1e-5)


# --- other outputs --------------------------------------------------------------------------


def _elevation_deg(t_utc: float, lat: float, lon: float) -> float:
    """Independent check: elevation of the leo.script orbit from a station (sphere, GMST)."""
    n = math.sqrt(MU / 7000.0**3)
    m = n * (t_utc - T0)
    e_anom = m
    for _ in range(30):
        e_anom -= (e_anom - 0.001 * math.sin(e_anom) - m) / (1 - 0.001 * math.cos(e_anom))
    x, y = 7000.0 * (math.cos(e_anom) - 0.001), 7000.0 * math.sqrt(1 - 1e-6) * math.sin(e_anom)
    inc = math.radians(28.5)
    sat = np.array([x, y * math.cos(inc), y * math.sin(inc)])
    theta = math.radians(280.46061837504) + 7.2921159e-5 * t_utc
    la, lo = math.radians(lat), math.radians(lon) + theta
    up = np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])
    rho = sat - 6378.1363 * up
    return math.degrees(math.asin(rho @ up / np.linalg.norm(rho)))


T0 = (dt.date(2026, 1, 1) - dt.date(2000, 1, 1)).days * 86400.0 - 43200.0  # UTC s from J2000


def _utc_seconds(stamp: pd.Timestamp) -> float:
    return T0 + (stamp - pd.Timestamp("2026-01-01")).total_seconds()


def test_ephemeris_contacts_and_reports_parse_through_gmat_run(tmp_path: Path) -> None:
    results = Mission.load(OUTPUTS).run(working_dir=tmp_path / "run")
    assert "Mission run completed" in results.log
    orbit, counts = results.reports["Orbit"], results.reports["Counts"]
    assert len(orbit) == 21600 // 60 + 1
    assert orbit["Sat.ElapsedSecs"].dtype == np.int64
    assert counts["Orbits"].dtype == np.int64 and (counts["Orbits"] == 3).all()
    # geodetic: above the inclination (real GMAT: 28.649 deg for this orbit)
    assert orbit["Sat.Earth.Latitude"].abs().max() == pytest.approx(28.65, abs=0.01)
    assert orbit["Sat.Earth.Longitude"].between(-180, 180).all()

    eph = results.ephemerides["Eph"]
    assert eph.attrs["object_name"] == "Sat" and eph.attrs["time_scale"] == "UTC"
    assert len(eph) == 21600 // 120 + 1
    assert (eph["Epoch"].diff().dropna() == pd.Timedelta(seconds=120)).all()
    assert eph["X"].iloc[0] == pytest.approx(6993.0)
    same = orbit.set_index("Sat.UTCGregorian")["Sat.EarthMJ2000Eq.X"]
    np.testing.assert_allclose(eph.set_index("Epoch")["X"], same.loc[eph["Epoch"]], atol=1e-9)

    contacts = results.contacts["Contacts"]
    assert contacts.attrs["report_format"] == "Legacy"
    assert contacts.attrs["event_counts"]["Station"] == len(contacts) >= 2
    for start, stop in zip(contacts["Start"], contacts["Stop"], strict=True):
        assert pd.Timedelta(0) < stop - start < pd.Timedelta(minutes=20)
        assert _elevation_deg(_utc_seconds(start), 28.5, -80.6) == pytest.approx(5.0, abs=0.02)
        assert _elevation_deg(_utc_seconds(stop), 28.5, -80.6) == pytest.approx(5.0, abs=0.02)
        middle = start + (stop - start) / 2
        assert _elevation_deg(_utc_seconds(middle), 28.5, -80.6) > 5.0


def test_a_station_that_never_sees_the_spacecraft_reports_zero_events(tmp_path: Path) -> None:
    script = variant(tmp_path, OUTPUTS, {"Station.Location1 = 28.5;": "Station.Location1 = -80;"})
    contacts = Mission.load(script).run(working_dir=tmp_path / "run").contacts["Contacts"]
    assert len(contacts) == 0 and contacts.attrs["event_counts"] == {"Station": 0}


# --- fault injection ------------------------------------------------------------------------


def test_fault_1_is_a_gmat_run_error_carrying_the_log(tmp_path: Path) -> None:
    mission = Mission.load(FAULTS)
    mission["StandinFault.Value"] = 1
    with pytest.raises(GmatRunError, match="status -5") as err:
        mission.run(working_dir=tmp_path / "run")
    assert "**** ERROR ****" in err.value.log and "StandinFault" in err.value.log
    mission["StandinFault.Value"] = 0
    assert len(mission.run(working_dir=tmp_path / "again").reports["Positions"]) == 3


def _timed_run(mission: Mission, tmp_path: Path, tag: str) -> float:
    start = time.perf_counter()
    mission.run(working_dir=tmp_path / tag)
    return time.perf_counter() - start


def test_the_delay_is_at_least_the_one_asked_and_the_variable_beats_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which delay applies, told apart by margins a loaded machine cannot blur: a sleep
    is never shorter than asked, and 0.05 s against 2 s leaves a second and a half."""
    mission = Mission.load(FAULTS)
    base = min(_timed_run(mission, tmp_path, f"b{i}") for i in range(3))  # least overhead
    mission["StandinDelay.Value"] = 0.2
    assert _timed_run(mission, tmp_path, "d") - base >= 0.198
    monkeypatch.setenv("GMAT_STANDIN_DELAY", "2.0")
    mission["StandinDelay.Value"] = 0.05
    assert 0.048 <= _timed_run(mission, tmp_path, "var") - base < 1.5  # the variable's
    mission["StandinDelay.Value"] = 0
    assert _timed_run(mission, tmp_path, "env") - base >= 1.998  # then the environment's


_RUN_WITH_FAULT = """\
    import sys
    from gmat_run import Mission
    mission = Mission.load(sys.argv[1])
    mission["StandinFault.Value"] = int(sys.argv[2])
    print("running", flush=True)
    mission.run(working_dir=sys.argv[3])
    print("finished", flush=True)
"""


@pytest.mark.slow
def test_fault_2_kills_the_process_with_sigsegv_after_partial_rows(tmp_path: Path) -> None:
    work = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_RUN_WITH_FAULT), str(FAULTS), "2", str(work)],
        env=environ(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -11, proc.stderr
    assert "finished" not in proc.stdout
    lines = (work / "positions.txt").read_text().splitlines()
    assert lines[0].split()[0] == "Sat.UTCGregorian" and 2 <= len(lines) < 4
    assert "SIGSEGV" in (work / "GmatLog.txt").read_text()


@pytest.mark.slow
def test_fault_3_hangs_until_killed(tmp_path: Path) -> None:
    work = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_RUN_WITH_FAULT), str(FAULTS), "3", str(work)],
        env=environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "running\n"
        time.sleep(2.0)
        assert proc.poll() is None
        assert "hangs" in (work / "GmatLog.txt").read_text()
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -9


_RUN_THREE = """\
    import sys
    from gmat_run import Mission
    for i in range(3):
        Mission.load(sys.argv[1]).run(working_dir=f"{sys.argv[2]}/w{i}")
        print("ran", i, flush=True)
"""


@pytest.mark.slow
def test_runs_past_their_free_passes_wait_for_the_gate_file(tmp_path: Path) -> None:
    gate, run_log = tmp_path / "gate", tmp_path / "runs.log"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_RUN_THREE), str(LEO), str(tmp_path)],
        env=environ(gate=gate, run_log=run_log, GMAT_STANDIN_GATE_FREE="2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert [proc.stdout.readline() for _ in range(2)] == ["ran 0\n", "ran 1\n"]
        deadline = time.monotonic() + 60
        while len(run_log.read_text().splitlines()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(run_log.read_text().splitlines()) == 3, "the third run never started"
        time.sleep(1.0)  # a run past the gate ends in milliseconds
        assert proc.poll() is None and not (tmp_path / "w2" / "positions.txt").exists()
        gate.touch()
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == 0, stderr
    assert stdout == "ran 2\n"
    assert sorted(p.name for p in tmp_path.glob("gate.free-*")) == ["gate.free-0", "gate.free-1"]


@pytest.mark.slow
def test_environment_fault_and_logs_of_setup_and_runs(tmp_path: Path) -> None:
    setup_log, run_log = tmp_path / "setup.log", tmp_path / "runs.log"
    code = f"""\
        import os
        from gmat_run import Mission, GmatRunError
        for i in range(2):
            Mission.load({str(LEO)!r}).run(working_dir={str(tmp_path)!r} + f"/w{{i}}")
        os.environ["GMAT_STANDIN_FAULT"] = "1"
        try:
            Mission.load({str(LEO)!r}).run(working_dir={str(tmp_path)!r} + "/w2")
        except GmatRunError as exc:
            print("run error:", exc)
        print(os.getpid())
    """
    proc = python(code, environ(setup_log=setup_log, run_log=run_log))
    assert proc.returncode == 0, proc.stderr
    pid = proc.stdout.split()[-1]
    assert "run error: GMAT RunScript returned status -5" in proc.stdout
    assert setup_log.read_text().split() == [pid]  # GMAT bootstrapped once in the process
    runs = [line.split() for line in run_log.read_text().splitlines()]
    assert runs == [[pid, str(tmp_path / f"w{i}")] for i in range(3)]


def test_an_ephemeris_is_written_between_its_initial_and_final_epochs_as_r2026a_does(
    tmp_path: Path,
) -> None:
    # The stand-in ignored InitialEpoch and FinalEpoch: a sweep over them was ok with no
    # effect. Real GMAT R2026a (tests/gmat_real/scripts/ephemeris.script, 60 s steps) starts
    # at InitialEpoch, steps from there and stops at FinalEpoch's last step.
    script = Path(__file__).parent / "gmat_real" / "scripts" / "ephemeris.script"
    mission = Mission.load(script)
    mission["Eph.InitialEpoch"] = "01 Jan 2026 00:10:30.000"
    mission["Eph.FinalEpoch"] = "01 Jan 2026 00:30:00.000"
    eph = mission.run(working_dir=tmp_path, overwrite=True).ephemerides["Eph"]
    stamps = pd.to_datetime(eph.iloc[:, 0]).dt.strftime("%H:%M:%S")
    assert (stamps.iloc[0], stamps.iloc[-1], len(stamps)) == ("00:10:30", "00:29:30", 20)
