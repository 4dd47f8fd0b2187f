"""A value GMAT changes instead of refusing fails its run: the read-back rules, then
sweeps through the API and the CLI on the stand-in and on real GMAT R2026a."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE, REAL_SCRIPTS

from gmat_sweep_dask import Manifest, sweep
from gmat_sweep_dask.execute.kept import check_kept, kept

# (field, value set, value GMAT R2026a read back on the reference mission, kept?)
READ_BACK = [
    ("Sat.SMA", -7000.0, 7000.000000000002, False),  # on an ellipse the sign of SMA follows ECC
    ("Sat.ECC", -0.1, 0.10000000000000005, False),  # a negative ECC is read as its magnitude
    ("Sat.SMA", 1e300, -9.980019980019979e299, False),
    ("Sat.SMA", 7100.0, 6916.239482921938, False),  # Sat.X = 7000 written after it
    ("Sat.SMA", 7100.5, 7100.500000000001, True),  # the Cartesian round trip
    ("Sat.ECC", 5e-12, 4.9999977722642334e-12, True),
    ("Sat.ECC", 0.0, 2.495631530965427e-16, True),
    ("Sat.TA", -90.0, 269.9999999999958, True),  # angles modulo 360
    ("Sat.RAAN", 400.0, 39.99999999999999, True),
    ("Sat.TA", 720.0, 360.0, True),
    ("Sat.TA", 1e20, 162.17512570437756, False),  # no longer the angle set
    ("Sat.RAAN", 30.0, 0.0, False),  # INC = 0: moved into AOP, where a later AOP undoes it
    ("Sat.AOP", 45.0, 0.0, False),  # ECC = 0: moved into TA
    ("Sat.TA", 45.0, 0.0, False),  # TA is never undefined
    ("Sat.RA", 400.0, 39.99999999999999, True),
    ("Sat.MLONG", -30.0, 330.0, True),
    ("Sat.IncomingRHA", -30.0, 330.0, True),
    ("Sat.BrouwerShortAOP", -30.0, 330.00000094844575, True),  # mean elements: iterated
    ("Sat.BrouwerLongAOP", 20.0, 19.999956058714115, True),
    ("Sat.BrouwerShortMA", 10.0, 9.999998404713097, True),
    ("Sat.BrouwerLongSMA", 7100.0, 7100.00001428743, True),
    ("Sat.BrouwerLongSMA", -7100.0, 7100.00001428743, False),
    ("Sat.SMA", 7000.0, 7000.1, False),  # a tenth of a km: a grid step, never GMAT's noise
    ("Sat.DryMass", 1e308, 1e308, True),
    ("Integrator.Accuracy", 1e-300, 1e-300, True),
    ("Sat.Cd", 2.2, 2.0, False),
    ("Prop.MaxStepAttempts", 50, 50, True),
    ("Sat.Epoch", 21545, "21545.00000000000", True),  # read back as text
    ("Sat.SMA", 7000.0, "garbage", False),
    ("Sat.SMA", 7000.0, None, False),
    ("Sat.SMA", 7000.0, math.nan, False),
    ("Sat.SMA", 1.0, True, False),
    ("Sat.Flag", True, True, True),
    ("Sat.Flag", True, False, False),
    ("Sat.Flag", np.bool_(False), False, True),
    ("Sat.Flag", False, 0.0, False),
    ("Sat.SMA", np.float64(7000.0), 7000.0, True),
    ("Integrator.Type", "RungeKutta89", "PrinceDormand78", False),  # an API write ignored
    ("Sat.Epoch", "1 Jan 2026 00:00:00", "01 Jan 2026 00:00:00.000", True),  # rewritten
    ("Sat.Epoch", "01 Jan 2026 00:00:00.000", "01 Jan 2026 00:00:00.001", False),
    ("Sat.Epoch", "21545", "21545.00000000000", True),
    ("Positions.Filename", "a/b.txt", "a/b.txt", True),
    ("Sat.Id", "SatId 2", "SatId 2", True),
    ("Sat.Id", "SatId 2", "SatId", False),
    ("Sat.Flag", "true", True, True),
    ("Sat.Flag", "true", False, False),
    ("Sat.Name", "abc", None, False),
    ("Sat.Name", "nan", "NaN", False),
]


@pytest.mark.parametrize(("field", "value", "held", "expected"), READ_BACK)
def test_what_counts_as_kept(field, value, held, expected) -> None:
    assert kept(field, value, held) is expected


class Held(dict):
    """A mission read back as a mapping; a field missing from it cannot be read."""


def test_check_kept_names_the_first_field_not_kept_and_leaves_lists_alone() -> None:
    mission = Held({"Sat.SMA": 7000.000000000002, "Sat.ECC": 0.1, "Prop.Type": "RungeKutta89"})
    overrides = {"Prop.Type": "RungeKutta89", "Sat.ECC": 0.1, "Sat.SMA": -7000.0}
    with pytest.raises(ValueError) as raised:
        check_kept(mission, overrides)
    assert str(raised.value).startswith(
        "GMAT did not keep Sat.SMA = -7000: it holds 7000.000000000002 once every override"
    )
    with pytest.raises(ValueError, match=r"did not keep Prop\.Type = 'PD78': it holds 'Runge"):
        check_kept(mission, {"Prop.Type": "PD78"})
    check_kept(mission, {"Prop.Type": "RungeKutta89", "FM.PointMasses": ["Earth"]})
    check_kept(mission, {"Sat.Unreadable": 3.0})  # gmat-run cannot read it: not compared


def entries(out: Path) -> dict[int, dict]:
    return Manifest.load(out / "manifest.jsonl", full=True).entries


def test_a_value_gmat_changes_fails_its_run_and_the_others_fly(engine_client, tmp_path) -> None:
    out = tmp_path / "signs"
    grid = {"Sat.SMA": [-7000.0, 7000.0], "Sat.ECC": [-0.01, 0.01]}
    frame = sweep(EXAMPLE, grid=grid, out=out, client=engine_client, progress=False)
    recorded = entries(out)
    assert [recorded[r]["status"] for r in range(4)] == ["failed", "failed", "failed", "ok"]
    for run_id, field, value in [(0, "Sat.SMA", "-7000"), (1, "Sat.SMA", "-7000"),
                                 (2, "Sat.ECC", "-0.01")]:  # fmt: skip
        assert recorded[run_id]["error"].startswith(
            f"ValueError: GMAT did not keep {field} = {value}:"
        )
    data = frame.compute()
    assert data.loc[[0, 1, 2], "time"].isna().all()
    first = data.loc[3].iloc[0]
    assert first["Sat.X"] == pytest.approx(7000.0 * (1 - 0.01), abs=1e-6)  # the orbit set


def test_a_cartesian_override_that_moves_a_keplerian_one_fails(engine_client, tmp_path) -> None:
    out = tmp_path / "mixed"
    table = pd.DataFrame({"Sat.SMA": [7100.0, 7100.0], "Sat.X": [7000.0, 7100.0 * (1 - 0.001)]})
    sweep(EXAMPLE, samples=table, out=out, client=engine_client, progress=False)
    recorded = entries(out)
    assert recorded[0]["status"] == "failed"
    assert "GMAT did not keep Sat.SMA = 7100: it holds 6916.2" in recorded[0]["error"]
    assert recorded[1]["status"] == "ok"  # X at the periapsis of that very orbit


@pytest.mark.real_gmat
def test_real_gmat_keeps_wrapped_angles_but_not_undefined_ones(real_client, tmp_path) -> None:
    out = tmp_path / "angles"
    table = pd.DataFrame(
        {
            "Sat.INC": [28.5, 0.0, 28.5],
            "Sat.ECC": [0.001, 0.001, 0.0],
            "Sat.RAAN": [0.0, 30.0, 0.0],
            "Sat.AOP": [0.0, 0.0, 45.0],
            "Sat.TA": [-90.0, 0.0, 0.0],
        }
    )
    frame = sweep(REAL_SCRIPTS / "reference.script", samples=table, out=out,
                  client=real_client, progress=False)  # fmt: skip
    recorded = entries(out)
    assert [recorded[r]["status"] for r in range(3)] == ["ok", "failed", "failed"]
    # GMAT moved RAAN into AOP, then the later AOP = 0 undid it: longitude 0, not 30.
    assert "GMAT did not keep Sat.RAAN = 30: it holds 0.0" in recorded[1]["error"]
    assert "GMAT did not keep Sat.AOP = 45: it holds 0.0" in recorded[2]["error"]
    first = frame.compute().loc[0].iloc[0]
    r = math.dist((0, 0, 0), first[["Sat.X", "Sat.Y", "Sat.Z"]].to_numpy(float))
    assert first["Sat.Z"] / r == pytest.approx(-math.sin(math.radians(28.5)))  # TA -90 is 270


def test_the_cli_shows_why_a_run_whose_value_gmat_changed_failed(tmp_path) -> None:
    out = tmp_path / "cli"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "gmat_sweep_dask", *args]
        env = os.environ.copy()
        return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)

    ran = cli("run", str(EXAMPLE), "--grid", "Sat.SMA=-7000,7000", "--out", str(out),
              "--workers", "1", "--quiet")  # fmt: skip
    assert "2 runs: 1 ok, 1 failed" in ran.stdout, ran.stderr
    shown = cli("show", str(out), "--failed")
    assert "GMAT did not keep Sat.SMA = -7000: it holds 7000" in shown.stdout
