"""The plots of a dispersion study: corner plot, heatmap with failed cells, convergence.

What it shows:

* ``corner_plot(frame, columns)``: a 240-run (``--runs N``) Monte Carlo's drawn SMA and
  ECC against the run's minimum altitude and final X, pairwise (points; hexagonal bins
  above 2,000 runs) with histograms on the diagonal;
* ``convergence_plot(convergence(frame, "Sat.Earth.Altitude", how="min"))``: the running
  mean of the minimum altitude with a ±1 standard-error band, to see when more runs stop
  paying;
* ``heatmap(frame, "Sat.SMA", "Sat.ECC", "Sat.Earth.Altitude:min")``: a 6 x 7 grid whose
  last eccentricity, 1.0, is a parabola, a value GMAT refuses, so those six runs fail:
  their cells are grey and crossed (the uneven ECC axis is drawn one cell per value).
  (An ECC above 1 would not fail: GMAT flies it as a hyperbola.)

Run it (from the repository root; GMAT_ROOT unset means the GMAT stand-in engine):

    .venv/bin/python examples/dispersion_plots.py --out runs/plots
    .venv/bin/python examples/dispersion_plots.py --out runs/plots-5k --runs 5000  # hexbins

It writes ``DIR/mc/``, ``DIR/grid/`` and three PNGs, and prints ``key: value`` lines.
"""

from __future__ import annotations

from _common import LEO_SCRIPT, local_client, report, setup

from gmat_sweep_dask import (
    around,
    convergence,
    convergence_plot,
    corner_plot,
    heatmap,
    monte_carlo,
    sweep,
)

PERTURB = {
    "Sat.SMA": around(("normal", 0.0, 5.0)),  # km
    "Sat.ECC": ("uniform", 0.0005, 0.002),
}
GRID = {
    "Sat.SMA": [6900.0, 7000.0, 7100.0, 7200.0, 7300.0, 7400.0],
    "Sat.ECC": [0.0, 0.02, 0.04, 0.06, 0.08, 0.5, 1.0],  # 1.0: GMAT refuses a parabola
}


def main() -> None:
    runs = {"type": int, "default": 240, "help": "Monte Carlo runs (default: 240)"}
    args = setup(__doc__, "dispersion_plots", {"--runs": runs})
    with local_client() as client:
        mc = monte_carlo(
            LEO_SCRIPT, n=args.runs, perturb=PERTURB, seed=3, out=args.out / "mc", client=client
        )
        grid = sweep(LEO_SCRIPT, grid=GRID, out=args.out / "grid", client=client)
        columns = ["Sat.SMA", "Sat.ECC", "Sat.Earth.Altitude:min", "Sat.X:last"]
        corner = corner_plot(mc, columns)
        conv = convergence(mc, "Sat.Earth.Altitude", how="min")
        running = convergence_plot(conv, metric="Sat.Earth.Altitude:min")
        heat = heatmap(grid, "Sat.SMA", "Sat.ECC", "Sat.Earth.Altitude:min")
        final = conv.compute().iloc[-1]

    pngs = {
        "corner_png": (corner, args.out / "corner.png"),
        "convergence_png": (running.figure, args.out / "convergence.png"),
        "heatmap_png": (heat.figure, args.out / "heatmap.png"),
    }
    for key, (figure, path) in pngs.items():
        figure.savefig(path, dpi=100)
        report(key, path)
    points = [len(c.get_offsets()) for ax in corner.axes for c in ax.collections]
    report("corner_panels", len(corner.axes))
    report("corner_points_per_panel", min(points) if points else 0)
    report("convergence_runs", int(final["n"]))
    report("altitude_min_mean_km", f"{final['running_mean']:.3f}")
    report("altitude_min_se_km", f"{final['se_mean']:.3f}")
    report("heatmap_failed_cells", heat.get_legend().get_texts()[0].get_text())


if __name__ == "__main__":
    main()
