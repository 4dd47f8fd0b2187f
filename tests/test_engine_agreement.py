"""The stand-in engine does what real GMAT R2026a does, where our tests rely on it.

Each test runs on both engines (``engine_root``: the stand-in, then the real GMAT of the
``real_gmat`` tier) and pins what real GMAT was seen to do: which field writes it rejects
when they are set, which meaningless values it accepts (and how it reads them) and which it
changes instead of refusing (a run setting one fails: :mod:`gmat_sweep_dask.execute.kept`),
the error and log of a run that fails while running, ``Setup`` refused after a fork, the
reference rows and geodetic altitude, the EphemerisFile's columns and epochs. The engine is
probed once per engine by ``tests/engine_probe.py`` in a process of its own.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import TESTS

from gmat_sweep_dask import wording

MU = 398600.4415
R_EARTH = 6378.1363  # GMAT's Earth: equatorial radius (km) and flattening
FLATTENING = 0.0033527
_PROBES: dict[Path, dict[str, Any]] = {}


def probe(root: Path) -> dict[str, Any]:
    """What ``tests/engine_probe.py`` saw on the engine at ``root`` (run once per root)."""
    if root not in _PROBES:
        result = subprocess.run(
            [sys.executable, str(TESTS / "engine_probe.py")],
            env={**os.environ, "GMAT_ROOT": str(root)},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr
        _PROBES[root] = json.loads(result.stdout)
    return _PROBES[root]


def field_write(root: Path, field: str, value: Any) -> dict[str, Any]:
    return probe(root)["fields"][f"{field}={value!r}"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Sat.INC", 500),
        ("Sat.INC", -10),
        ("Sat.SMA", 0),
        ("Sat.DryMass", -1),
        ("Integrator.Accuracy", -1),
        ("Integrator.Accuracy", 0),
        ("Integrator.InitialStepSize", 0),
        ("Positions.Precision", 0),
        ("Sat.Epoch", "garbage"),
        ("Sat.ECC", 1.0),  # parabolic
        ("Sat.ECC", -1.0),
    ],
)
def test_gmat_rejects_these_values_when_they_are_set(engine_root, field, value) -> None:
    run = field_write(engine_root, field, value)
    assert run["status"] == "failed"
    assert run["error"].startswith(f"GmatFieldError: GMAT rejected write to '{field}'")
    assert run["log_tail"] is None  # nothing ran


@pytest.mark.parametrize(
    ("field", "value", "x0", "y0"),
    [
        ("Sat.ECC", 1.5, -7000 * (1 - 1.5), 0.0),  # a hyperbola through 3500 km
        ("Sat.INC", 180, 6993.0, 0.0),
        ("Sat.RAAN", 400, 6993 * math.cos(math.radians(40)), 6993 * math.sin(math.radians(40))),
        ("Sat.TA", -720, 6993.0, 0.0),
        ("Sat.SMA", 6000, 6000 * 0.999, 0.0),  # periapsis inside the Earth
        ("Sat.Cd", -1, 6993.0, 0.0),
        ("Sat.Cr", 3, 6993.0, 0.0),
    ],
)
def test_gmat_accepts_these_values_and_runs_them_as_it_reads_them(
    engine_root, field, value, x0, y0
) -> None:
    run = field_write(engine_root, field, value)
    assert run["status"] == "ok", run["error"]
    values = run["report/Positions"]["values"]
    assert values["Sat.X"][0] == pytest.approx(x0, abs=1e-6)
    assert values["Sat.Y"][0] == pytest.approx(y0, abs=1e-6)
    if field == "Sat.INC":  # retrograde and equatorial
        assert values["Sat.Y"][1] < 0 and abs(values["Sat.Z"][1]) < 1e-6


@pytest.mark.parametrize(
    ("field", "value", "held"),
    [
        ("Sat.SMA", -5, 5.0),  # SMA < 0 with ECC < 1: read as |SMA|
        ("Sat.ECC", -0.5, 0.5),  # ECC < 0: read as |ECC|
        ("Sat.ECC", -3, 3.0),  # ...then ECC > 1 makes SMA negative
    ],
)
def test_gmat_changes_these_values_instead_of_refusing_them_so_the_run_fails(
    engine_root, field, value, held
) -> None:
    run = field_write(engine_root, field, value)
    assert run["status"] == "failed"
    shown = wording.value(value)
    said = rf"ValueError: GMAT did not keep {re.escape(field)} = {shown}: it holds (\S+) "
    found = re.match(said, run["error"])
    assert found, run["error"]
    if isinstance(held, str):
        assert found[1] == repr(held)
    else:
        assert float(found[1]) == pytest.approx(held, rel=1e-9)
    assert run["log_tail"] is None  # nothing ran


def test_a_propagator_type_goes_through_the_script_text_and_runs(engine_root) -> None:
    # gmat-run's API write of a PropSetup's Type is ignored (it reads back the old type);
    # a sweep writes it into the script text (execute/scripttext.py), where GMAT takes it.
    run = field_write(engine_root, "Integrator.Type", "RungeKutta89")
    assert run["status"] == "ok", run["error"]


def test_a_built_in_coordinate_system_refuses_every_value_even_its_own(engine_root) -> None:
    # A CoordinateSystem's fields go through the script text, where GMAT refuses any
    # assignment to a built-in one: each run of a sweep of EarthMJ2000Eq.Origin fails.
    run = field_write(engine_root, "EarthMJ2000Eq.Origin", "Earth")
    assert run["status"] == "failed"
    assert (
        "CoordinateSystem exception: Modifications to built-in coordinate system "
        "EarthMJ2000Eq are not allowed." in run["error"]
    ), run["error"]


def test_a_run_that_fails_while_running_names_the_error_in_its_log_tail(engine_root) -> None:
    run = field_write(engine_root, "Sat.DryMass", 0)
    assert run["status"] == "failed"
    assert run["error"].startswith("GmatRunError: GMAT RunScript returned status")
    tail = run["log_tail"]
    assert 'Total spacecraft mass is less than zero for Spacecraft "Sat"' in tail
    assert "Mission run failed" in tail


def test_a_script_path_that_is_not_utf8_cannot_be_loaded(engine_root) -> None:
    """GMAT's API takes paths as UTF-8 text: gmat-sweep-dask refuses such a path first."""
    assert probe(engine_root)["undecodable_path"] == (
        "TypeError: in method 'LoadScript', argument 1 of type 'std::string const &'"
    )


def test_setup_after_fork_is_refused_but_a_started_engine_runs_in_the_child(engine_root) -> None:
    child = probe(engine_root)["fork"]
    assert child["setup"].startswith("RuntimeError: GMAT cannot be used after fork")
    assert child["rows"] == 3


def test_the_reference_rows_and_a_geodetic_altitude(engine_root) -> None:
    reference = probe(engine_root)["reference"]["report/Positions"]
    assert reference["elapsed"][:2] == [0.0, 30.0]
    rows = np.array([reference["values"][c][:2] for c in ("Sat.X", "Sat.Y", "Sat.Z")]).T
    published = [[6993.0, 0.0, 0.0], [6989.332373, 199.112254, 108.109133]]
    np.testing.assert_allclose(rows, published, rtol=0, atol=1e-3)
    leo = probe(engine_root)["leo"]["report/Orbit"]["values"]
    x, y, z = (np.array(leo[c]) for c in ("Sat.X", "Sat.Y", "Sat.Z"))
    altitude = np.array(leo["Sat.Earth.Altitude"])
    # Altitude above GMAT's oblate Earth (the pole taken as MJ2000's z; real GMAT's
    # precessed pole moves it by tens of metres): up to 5 km above the height over a sphere.
    np.testing.assert_allclose(altitude, geodetic_altitude(x, y, z), rtol=0, atol=0.1)
    assert (altitude - (np.hypot(np.hypot(x, y), z) - R_EARTH)).max() > 4.0


def geodetic_altitude(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Height above the ellipsoid of GMAT's Earth (Bowring's iteration)."""
    e2 = FLATTENING * (2 - FLATTENING)
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1 - e2))
    for _ in range(5):
        n = R_EARTH / np.sqrt(1 - e2 * np.sin(lat) ** 2)
        lat = np.arctan2(z + e2 * n * np.sin(lat), p)
    n = R_EARTH / np.sqrt(1 - e2 * np.sin(lat) ** 2)
    return p / np.cos(lat) - n


def test_the_ephemeris_file_columns_epochs_and_frame(engine_root) -> None:
    eph = probe(engine_root)["ephemeris"]["ephemeris/Eph"]
    assert eph["columns"] == ["Epoch", "X", "Y", "Z", "VX", "VY", "VZ"]
    # Its own 60 s grid from the first epoch, and the final epoch of the propagation.
    assert eph["elapsed"] == [*np.arange(0.0, 5828.0, 60.0).tolist(), 5828.0]
    attrs = eph["attrs"]
    assert (attrs["time_scale"], attrs["central_body"], attrs["coordinate_system"]) == (
        "UTC",
        "Earth",
        "EME2000",
    )
    v = eph["values"]
    r = np.linalg.norm([v["X"], v["Y"], v["Z"]], axis=0)
    speed = np.linalg.norm([v["VX"], v["VY"], v["VZ"]], axis=0)
    np.testing.assert_allclose(speed**2 / 2 - MU / r, -MU / (2 * 7000.0), rtol=1e-6)


#: What GMAT R2026a wrote for hohmann.script (2026-12-03): the DifferentialCorrector's
#: table columns, and its Targeter Text File up to the first iteration's goals.
SOLVER_COLUMNS = [
    "iteration",
    "TOI.Element1",
    "GOI.Element1",
    "Sat.Earth.RMAG",
    "Sat.Earth.RMAG_desired",
    "Sat.Earth.RMAG_residual",
    "Sat.Earth.RMAG_tolerance",
    "Sat.Earth.ECC",
    "Sat.Earth.ECC_desired",
    "Sat.Earth.ECC_residual",
    "Sat.Earth.ECC_tolerance",
    "status",
]
RULE = "*" * 56
TARGETER_HEAD = "\n".join(
    [
        RULE,
        "*** Targeter Text File",
        "*** ",
        "*** Using Differential Correction",
        "***",
        "*** # variables",
        "*** # goals",
        "***",
        "*** Variables:",
        "***    TOI.Element#",
        "***    GOI.Element#",
        "***    ",
        "*** Goals:",
        "***    Sat.Earth.RMAG",
        "***    Sat.Earth.ECC",
        "***    ",
        "*** SolverMode:  Solve",
        "***    ",
        RULE,
        "",
        "Iteration #",
        "Running Nominal Pass",
        "Variables:",
        "   TOI.Element# = #",
        "   GOI.Element# = #",
        "   ",
        "Goals and achieved values:",
        "   Sat.Earth.RMAG  Desired: # Achieved: #",
        "   Tolerance: #",
        "   Sat.Earth.ECC  Desired: # Achieved: #",
        "   Tolerance: #",
        "   ",
        RULE,
        "",
        "",
        "Jacobian (Sensitivity matrix):",
        "   #   #",
        "   #   #",
        "",
        "",
        "Inverse Jacobian:",
        "   #   #",
        "   #   #",
        "",
        "",
        "New scaled variable estimates:",
        "   TOI.Element# = #",
        "   GOI.Element# = #",
        "   ",
        "Iteration #",
    ]
)
TARGETER_TAIL = "\n".join(
    ["   ", RULE, "", "", RULE, "*** Targeting Completed in # iterations", RULE, "", ""]
)


@pytest.mark.parametrize(("label", "iterations"), [("g1", 3), ("g2", 8), ("max2", 2)])
def test_the_targeter_writes_gmat_s_solver_file_and_table(engine_root, label, iterations) -> None:
    run = probe(engine_root)["solver"][label]
    assert run["file"] == "DifferentialCorrectorDC.data"
    assert run["columns"] == SOLVER_COLUMNS
    assert run["dtypes"] == ["int64"] + ["float64"] * 10 + ["string"]
    assert run["skeleton"].startswith(TARGETER_HEAD) and run["skeleton"].endswith(TARGETER_TAIL)
    n = run["attrs"]["n_iterations"]
    assert run["attrs"] == {
        "solver_type": "DifferentialCorrector",
        "solver_mode": "Solve",
        "n_iterations": n,
        "n_variables": 2,
        "n_goals": 2,
        "converged": label != "max2",
    }
    assert run["status"] == ["running"] * (n - 1) + ["max_iter" if label == "max2" else "converged"]
    if label == "max2":  # stopped after MaximumIterations nominal passes, as real GMAT does
        assert n == 2
        assert run["verdict"] == [
            "*** Targeting did not converge in 2 iterations",
            "!!! WARNING: Targeter did NOT converge!",
        ]
        assert run["final"]["Sat.Earth.ECC"] > 1e-3
        return
    assert abs(n - iterations) <= 2  # real GMAT took `iterations` from this guess
    assert run["verdict"] == ["*** The Targeter converged!"]
    toi, goi = run["variables"]["TOI.Element1"][-1], run["variables"]["GOI.Element1"][-1]
    assert toi == pytest.approx(0.9332, abs=2e-4) and goi == pytest.approx(0.8177, abs=2e-4)
    assert run["final"]["Sat.Earth.SMA"] == pytest.approx(12000.0, abs=0.5)
