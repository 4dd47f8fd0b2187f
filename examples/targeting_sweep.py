"""A targeting script swept over its initial guess: per-run convergence and iterations.

What it shows:

* ``hohmann.script`` (in this directory): a ``DifferentialCorrector`` varies two impulsive
  burns (``Target``/``Vary``/``Achieve``) to move the spacecraft from a 7000 km orbit to a
  12000 km circular one; the first burn's initial guess is the Variable ``Guess``;
* ``sweep(..., grid={"Guess.Value": [...]})`` runs it from 9 guesses, one run each;
* ``open_sweep(out, kind="solver")``: each run's iteration history, keyed by
  ``(run_id, solver, iteration)``: the varied burns, each goal's achieved value, desired
  value, residual and tolerance, and ``solver_status`` (``running`` until the last row,
  then ``converged``, ``max_iter`` or ``failed``);
* from every guess the targeter reaches the same Hohmann burns; a guess far from them
  takes more iterations (each step is at most ``MaxStep`` = 0.2 km/s).

Run it (from the repository root; GMAT_ROOT unset means the GMAT stand-in engine):

    .venv/bin/python examples/targeting_sweep.py   # into runs/targeting_sweep-<t>/

It writes ``DIR/sweep/`` and ``DIR/iterations.png`` and prints its key numbers as
``key: value`` lines.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from _common import local_client, report, setup

from gmat_sweep_dask import open_sweep, sweep

SCRIPT = Path(__file__).resolve().parent / "hohmann.script"
GUESSES = [0.0, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 3.0]  # km/s, first burn


def main() -> None:
    args = setup(__doc__, "targeting_sweep")
    with local_client() as client:
        sweep(SCRIPT, grid={"Guess.Value": GUESSES}, out=args.out / "sweep", client=client,
              report="Final")  # fmt: skip
    solver = open_sweep(args.out / "sweep", kind="solver").compute()
    last = solver.groupby(level=0).last()
    iterations = solver.groupby(level=0).size()

    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    ax.plot(last["Guess.Value"], iterations, "o-")
    ax.axvline(last["TOI.Element1"].mean(), color="tab:red", linestyle="--",
               label="converged first burn")  # fmt: skip
    ax.set_xlabel("initial guess of the first burn [km/s]")
    ax.set_ylabel("DifferentialCorrector iterations")
    ax.set_title("Hohmann transfer 7000 -> 12000 km by targeting, from each guess")
    ax.legend()
    png = args.out / "iterations.png"
    fig.savefig(png, dpi=120)

    report("runs", len(last))
    report("statuses", ", ".join(sorted(set(last["solver_status"]))))
    report("iterations", ", ".join(str(n) for n in iterations))
    report("first_burn_km_s", f"{last['TOI.Element1'].min():.4f}..{last['TOI.Element1'].max():.4f}")
    report(
        "second_burn_km_s", f"{last['GOI.Element1'].min():.4f}..{last['GOI.Element1'].max():.4f}"
    )
    report("png", png)


if __name__ == "__main__":
    main()
