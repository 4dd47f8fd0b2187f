"""A Monte Carlo sweep that stops itself once its mean is known well enough.

What it shows:

* ``monte_carlo(..., until=Converged(metric, half_width=..., max_runs=..., batch=...))``:
  50 runs, then 50 more at a time, until the 95% confidence half-width of the mean
  minimum altitude (``Sat.Earth.Altitude:min``, over the ok runs) is at most 0.25 km
  (``--half-width``), or the sweep has 1000 runs;
* ``rule.estimate(frame)``: where it stopped and why (mean, half-width, runs);
* the result is exactly the plain ``monte_carlo(n=<final size>)`` sweep with the same
  seed (checked here on a second directory);
* ``convergence_plot()`` of the running mean ±1 SE with the tolerance drawn.

Run it (from the repository root; GMAT_ROOT unset means the GMAT stand-in engine):

    .venv/bin/python examples/until_converged.py   # into runs/until_converged-<t>/
    .venv/bin/python examples/until_converged.py --half-width 0.1   # about 6x the runs

It writes ``DIR/until/``, ``DIR/plain/`` and ``DIR/until_convergence.png`` and prints its
key numbers as ``key: value`` lines.
"""

from __future__ import annotations

from _common import LEO_SCRIPT, local_client, report, report_equal, setup

from gmat_sweep_dask import Converged, around, convergence, convergence_plot, monte_carlo

SEED = 20261203
PERTURB = {"Sat.SMA": around(("normal", 0.0, 2.0))}  # km, around the script's 7000 km
METRIC = "Sat.Earth.Altitude:min"
HALF_WIDTH_KM = 0.25  # the default tolerance; --half-width sets another


def main() -> None:
    tolerance = {
        "type": float,
        "default": HALF_WIDTH_KM,
        "help": f"the 95%% half-width wanted, in km (default: {HALF_WIDTH_KM})",
    }
    args = setup(__doc__, "until_converged", {"--half-width": tolerance})
    rule = Converged(METRIC, half_width=args.half_width, max_runs=1000, batch=50)
    with local_client() as client:
        frame = monte_carlo(
            LEO_SCRIPT,
            n=50,
            perturb=PERTURB,
            seed=SEED,
            out=args.out / "until",
            client=client,
            until=rule,
        )
        estimate = rule.estimate(frame)
        plain = monte_carlo(
            LEO_SCRIPT,
            n=estimate.runs,
            perturb=PERTURB,
            seed=SEED,
            out=args.out / "plain",
            client=client,
            progress=False,
        )
        report_equal(frame.compute(), plain.compute())
        conv = convergence(frame, "Sat.Earth.Altitude", how="min")
        ax = convergence_plot(conv, metric=rule.metric)
    ax.axhspan(
        estimate.mean - rule.half_width,
        estimate.mean + rule.half_width,
        color="tab:orange",
        alpha=0.15,
        label=f"final mean ± {rule.half_width} km",
    )
    ax.legend(loc="best", fontsize="small")
    png = args.out / "until_convergence.png"
    ax.figure.savefig(png, dpi=120)

    report("runs", estimate.runs)
    report("converged", estimate.converged)
    report("mean_km", f"{estimate.mean:.4f}")
    report("half_width_km", f"{estimate.half_width:.4f}")
    report("png", png)


if __name__ == "__main__":
    main()
