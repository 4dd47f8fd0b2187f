"""A 500-run Monte Carlo dispersion of injection errors, with a 3-sigma covariance ellipse.

What it shows:

* ``monte_carlo(script, n=..., perturb=..., seed=...)``: each run draws the perturbed fields
  from their distributions. ``around(("normal", 0, sigma))`` is an error *around the
  script's own value* (Sat.SMA = 7000 km in examples/leo.script). With a fixed ``seed``
  the draws are reproducible, whatever the cluster, the batching or an interruption;
* ``per_run(frame, columns, how=("last",))``: the final state of every run, computed
  lazily and reading only the named columns;
* a scatter of the final positions (X, Y in EarthMJ2000Eq) with the sample mean and its
  3-sigma covariance ellipse (which holds ~98.9% of a 2-D normal cloud), and a histogram
  of the drawn SMA errors against the distribution they were drawn from.

Run it (from the repository root; GMAT_ROOT unset means the GMAT stand-in engine):

    .venv/bin/python examples/monte_carlo_dispersion.py   # into runs/monte_carlo_dispersion-<t>/
    .venv/bin/python examples/monte_carlo_dispersion.py --out runs/mc --runs 2000

It writes ``DIR/sweep/`` and ``DIR/final_position_dispersion.png`` and prints its key
numbers as ``key: value`` lines. ``--runs N`` sets the size (default 500).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from _common import LEO_SCRIPT, local_client, report, setup
from matplotlib.patches import Ellipse

from gmat_sweep_dask import around, monte_carlo, per_run

SEED = 20260101
NOMINAL_SMA_KM = 7000.0  # Sat.SMA in examples/leo.script
SMA_SIGMA_KM = 2.0
# 1-sigma injection errors, each around the script's nominal value.
PERTURB = {
    "Sat.SMA": around(("normal", 0.0, SMA_SIGMA_KM)),  # km
    "Sat.INC": around(("normal", 0.0, 0.05)),  # deg
    "Sat.TA": around(("normal", 0.0, 0.05)),  # deg
}


def covariance_ellipse(x: np.ndarray, y: np.ndarray, n_sigma: float) -> tuple:
    """Centre, width, height (full axes) and angle (deg) of the n-sigma ellipse of (x, y)."""
    centre = np.array([x.mean(), y.mean()])
    variances, axes = np.linalg.eigh(np.cov(x, y))  # ascending eigenvalues
    width, height = 2 * n_sigma * np.sqrt(variances[::-1])
    angle = np.degrees(np.arctan2(axes[1, -1], axes[0, -1]))  # direction of the major axis
    return centre, width, height, angle


def inside(x: np.ndarray, y: np.ndarray, n_sigma: float) -> np.ndarray:
    """Which points lie inside the n-sigma ellipse (Mahalanobis distance <= n_sigma)."""
    offsets = np.column_stack([x - x.mean(), y - y.mean()])
    inverse = np.linalg.inv(np.cov(x, y))
    return np.einsum("ij,jk,ik->i", offsets, inverse, offsets) <= n_sigma**2


def main() -> None:
    runs = {"type": int, "default": 500, "help": "number of Monte Carlo runs (default: 500)"}
    args = setup(__doc__, "monte_carlo_dispersion", {"--runs": runs})

    with local_client() as client:
        frame = monte_carlo(
            LEO_SCRIPT,
            n=args.runs,
            perturb=PERTURB,
            seed=SEED,
            out=args.out / "sweep",
            client=client,
        )
        # One row per run: status, the drawn values, and the final X, Y and altitude.
        finals = per_run(frame, ["Sat.X", "Sat.Y", "Sat.Earth.Altitude"], how=("last",))
        finals = finals.compute()

    ok = finals[finals["status"] == "ok"]
    x, y = ok["Sat.X:last"].to_numpy(), ok["Sat.Y:last"].to_numpy()
    sma_error = ok["Sat.SMA"].to_numpy() - NOMINAL_SMA_KM

    fig, (left, right) = plt.subplots(
        1, 2, figsize=(12, 5.5), width_ratios=[3, 2], layout="constrained"
    )
    left.scatter(x, y, s=8, alpha=0.6, label=f"final position, {len(ok)} runs")
    centre, width, height, angle = covariance_ellipse(x, y, 3)
    left.add_patch(
        Ellipse(
            centre,
            width,
            height,
            angle=angle,
            fill=False,
            color="tab:red",
            linewidth=2,
            label="3-sigma covariance ellipse",
        )
    )
    left.plot(*centre, "+", color="tab:red", markersize=14, markeredgewidth=2, label="mean")
    left.set_aspect("equal", adjustable="datalim")  # 1 km is as long on both axes
    left.set_xlabel("final Sat.X (EarthMJ2000Eq) [km]")
    left.set_ylabel("final Sat.Y (EarthMJ2000Eq) [km]")
    left.set_title("Final position after 6000 s: the SMA error spreads it along the track")
    left.legend(loc="best", fontsize="small")
    left.grid(True, alpha=0.3)

    right.hist(sma_error, bins=30, density=True, alpha=0.6, label="drawn")
    grid = np.linspace(-4 * SMA_SIGMA_KM, 4 * SMA_SIGMA_KM, 200)
    pdf = np.exp(-0.5 * (grid / SMA_SIGMA_KM) ** 2) / (SMA_SIGMA_KM * np.sqrt(2 * np.pi))
    right.plot(grid, pdf, color="black", label=f"normal(0, {SMA_SIGMA_KM:g} km)")
    right.set_xlabel(f"Sat.SMA error around {NOMINAL_SMA_KM:g} km [km]")
    right.set_ylabel("probability density [1/km]")
    right.set_title(f"Drawn SMA errors (seed {SEED})")
    right.legend(loc="best", fontsize="small")
    right.grid(True, alpha=0.3)
    png = args.out / "final_position_dispersion.png"
    fig.savefig(png, dpi=120)

    report("runs", len(finals))
    report("ok", len(ok))
    report("seed", SEED)
    report("sma_mean_km", f"{ok['Sat.SMA'].mean():.3f}")
    report("sma_sd_km", f"{ok['Sat.SMA'].std():.3f}")
    report("sma_expected", f"normal({NOMINAL_SMA_KM:g}, {SMA_SIGMA_KM:g})")
    report("final_x_mean_km", f"{x.mean():.3f}")
    report("final_y_mean_km", f"{y.mean():.3f}")
    report("final_x_sd_km", f"{x.std(ddof=1):.3f}")
    report("final_y_sd_km", f"{y.std(ddof=1):.3f}")
    report("final_altitude_mean_km", f"{ok['Sat.Earth.Altitude:last'].mean():.3f}")
    report("final_altitude_sd_km", f"{ok['Sat.Earth.Altitude:last'].std():.3f}")
    report("ellipse_3sigma_semi_axes_km", f"{width / 2:.3f}, {height / 2:.3f}")
    report("inside_3sigma_fraction", f"{inside(x, y, 3).mean():.3f}")
    report("png", png)


if __name__ == "__main__":
    main()
