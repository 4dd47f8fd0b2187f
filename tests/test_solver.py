"""A real targeting script on the stand-in engine: Target/Vary/Achieve with a
DifferentialCorrector, swept over its initial guess (real GMAT's side of the same is in
test_real_gmat.py and test_engine_agreement.py)."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REAL_SCRIPTS

from gmat_sweep_dask import Manifest, open_sweep, sweep

HOHMANN = REAL_SCRIPTS / "hohmann.script"
MU = 398600.4415
#: Nominal passes real GMAT R2026a took from each guess (seen 2026-12-03).
REAL_ITERATIONS = {0.0: 8, 0.5: 5, 0.8: 4, 1.0: 3, 1.5: 6, 2.0: 8, 3.0: 14}


def hohmann_burns(r1: float, a1: float, r2: float) -> tuple[float, float]:
    """The two burns (km/s) from radius r1 on an orbit of SMA a1 to a circular orbit r2."""
    transfer = (r1 + r2) / 2
    first = math.sqrt(MU * (2 / r1 - 1 / transfer)) - math.sqrt(MU * (2 / r1 - 1 / a1))
    second = math.sqrt(MU / r2) - math.sqrt(MU * (2 / r2 - 1 / transfer))
    return first, second


def test_a_sweep_over_the_initial_guess_converges_to_the_hohmann_burns(client, tmp_path) -> None:
    out = tmp_path / "hohmann"
    guesses = list(REAL_ITERATIONS)
    sweep(
        HOHMANN,
        grid={"Guess.Value": guesses},
        out=out,
        client=client,
        report="Final",
        progress=False,
    )
    entries = Manifest.load(out / "manifest.jsonl", full=True).entries
    assert all(e["status"] == "ok" for e in entries.values()), entries
    solver = open_sweep(out, kind="solver").compute()
    assert set(solver["solver"]) == {"DC"}
    toi, goi = hohmann_burns(6993.0, 7000.0, 12000.0)
    counts = {}
    for run_id, guess in enumerate(guesses):
        runs = solver.loc[[run_id]]
        n = counts[guess] = len(runs)
        assert runs["iteration"].tolist() == list(range(1, n + 1))
        assert runs["TOI.Element1"].iloc[0] == guess and runs["Guess.Value"].iloc[0] == guess
        assert runs["solver_status"].tolist() == ["running"] * (n - 1) + ["converged"]
        last = runs.iloc[-1]
        assert abs(last["Sat.Earth.RMAG_residual"]) <= last["Sat.Earth.RMAG_tolerance"] == 0.1
        assert abs(last["Sat.Earth.ECC_residual"]) <= last["Sat.Earth.ECC_tolerance"] == 1e-4
        assert last["TOI.Element1"] == pytest.approx(toi, abs=2e-4)
        assert last["GOI.Element1"] == pytest.approx(goi, abs=2e-4)
        # a step is at most MaxStep (0.2 km/s), so a far guess needs more passes
        assert n >= 1 + math.ceil((abs(guess - toi) - 0.05) / 0.2)
        assert abs(n - REAL_ITERATIONS[guess]) <= 2, (guess, n, REAL_ITERATIONS[guess])
    below = [counts[g] for g in (0.0, 0.5, 0.8, 1.0)]
    above = [counts[g] for g in (1.0, 1.5, 2.0, 3.0)]
    assert below == sorted(below, reverse=True) and above == sorted(above)
    assert counts[1.0] == min(counts.values()) < counts[3.0]
    final = open_sweep(out, "Final").compute().groupby(level=0).last()
    assert final["Sat.Earth.SMA"].sub(12000.0).abs().max() < 0.5
    assert final["Sat.Earth.ECC"].max() < 1e-4
    assert (final["TOI.Element1"] - toi).abs().max() < 2e-4  # the report shows the final pass


def test_a_targeter_stopped_by_its_iteration_limit_is_an_ok_run_marked_max_iter(
    client, tmp_path
) -> None:
    out = tmp_path / "limited"
    table = pd.DataFrame({"Guess.Value": [1.0, 3.0], "DC.MaximumIterations": [2, 5]})
    sweep(HOHMANN, samples=table, out=out, client=client, report="Final", progress=False)
    solver = open_sweep(out, kind="solver").compute()
    for run_id, limit in enumerate([2, 5]):
        runs = solver.loc[[run_id]]
        assert len(runs) == limit and runs["solver_status"].iloc[-1] == "max_iter"
        last = runs.iloc[-1]
        assert abs(last["Sat.Earth.RMAG_residual"]) > last["Sat.Earth.RMAG_tolerance"]
    final = open_sweep(out, "Final").compute().groupby(level=0).last()
    assert (final["Sat.Earth.ECC"] > 1e-3).all()  # the unconverged transfers are not circular


def test_cli_sweep_of_a_targeting_script_and_unsupported_solver_settings(tmp_path) -> None:
    out = tmp_path / "cli"
    run = subprocess.run(
        [
            *(sys.executable, "-m", "gmat_sweep_dask", "run", str(HOHMANN)),
            *("--grid", "Guess.Value=0.5,1.5", "--out", str(out)),
            *("--workers", "1", "-q"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "2 runs: 2 ok" in run.stdout
    solver = open_sweep(out, kind="solver").compute()
    assert solver.groupby(level=0)["solver_status"].last().tolist() == ["converged"] * 2
    broken = tmp_path / "broken.script"
    broken.write_text(HOHMANN.read_text().replace("EndTarget\n", ""))
    refused = subprocess.run(
        [
            *(sys.executable, "-m", "gmat_sweep_dask", "check", str(broken)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode != 0 and "Target without EndTarget" in refused.stdout + refused.stderr


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("EndTarget\n", "", "line 55: Target without EndTarget"),
        ("ExitMode = SaveAndContinue", "ExitMode = DiscardAndContinue", "ExitMode = Disc"),
        ("SolveMode = Solve", "SolveMode = RunInitialGuess", "SolveMode = RunInitialGuess"),
        ("MaxStep = 0.2})\n   Maneuver TOI", "Bogus = 1})\n   Maneuver TOI", "'Bogus = 1'"),
        ("DC.DerivativeMethod = ForwardDifference", "DC.Algorithm = Broyden", "NewtonRaphson"),
        ("Target DC {SolveMode = Solve, ExitMode = SaveAndContinue}", "", "Vary outside a Target"),
        ("Maneuver TOI(Sat)", "Maneuver Guess(Sat)", "Guess' is not a ImpulsiveBurn"),
    ],
)
def test_unsupported_targeting_is_refused_when_the_script_loads(tmp_path, old, new, needle) -> None:
    from gmat_run import GmatLoadError, Mission

    text = HOHMANN.read_text()
    assert old in text
    script = tmp_path / "changed.script"
    script.write_text(text.replace(old, new, 1))
    gmat = Mission.load(HOHMANN).gmat
    log = tmp_path / "GmatLog.txt"
    gmat.UseLogFile(str(log))
    try:
        with pytest.raises(GmatLoadError):
            Mission.load(script)
    finally:
        gmat.UseLogFile(os.devnull)
    assert "**** ERROR ****" in log.read_text() and needle in log.read_text()
