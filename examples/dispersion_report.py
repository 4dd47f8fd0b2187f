"""The dispersion report: statistics at an epoch, the 3-sigma ellipsoid, P(constraint violated).

What it shows, on a 400-run Monte Carlo of injection errors (seeded; ``--runs N`` for another
size):

* ``dispersion(frame, columns, at=epoch)``: each run's state interpolated at an epoch
  between two report rows, then the mean, covariance and percentiles across runs — one
  lazy Dask pass over the frame, nothing but the per-run states reaches memory;
* ``result.ellipsoid(n_sigma=3)``: the 3-sigma ellipsoid of the position dispersion (its
  semi-axes and directions) and how many runs fall inside it;
* ``violation_probability(per_run(...), "Sat.Earth.Altitude:min < 615")``: the probability
  that a run dips below 615 km, with its Wilson and Clopper-Pearson 95% intervals.

Run it (from the repository root; GMAT_ROOT unset means the GMAT stand-in engine):

    .venv/bin/python examples/dispersion_report.py --out runs/dispersion
    .venv/bin/python examples/dispersion_report.py --out runs/dispersion-2k --runs 2000

It writes ``DIR/sweep/`` and prints its key numbers as ``key: value`` lines.
"""

from __future__ import annotations

import numpy as np
from _common import LEO_SCRIPT, local_client, report, setup

from gmat_sweep_dask import (
    around,
    dispersion,
    monte_carlo,
    per_run,
    state_at,
    violation_probability,
)

SEED = 1969
EPOCH = "2026-01-01 01:00:30"  # one hour in, half-way between two 60 s report rows
POSITION = ["Sat.X", "Sat.Y", "Sat.Z"]
PERTURB = {  # 1-sigma injection errors around the script's own values
    "Sat.SMA": around(("normal", 0.0, 2.0)),  # km
    "Sat.ECC": around(("uniform", -0.0005, 0.0005)),
    "Sat.INC": around(("normal", 0.0, 0.02)),  # deg: takes the cloud out of one plane
    "Sat.TA": around(("normal", 0.0, 0.05)),  # deg
}


def main() -> None:
    runs = {"type": int, "default": 400, "help": "number of Monte Carlo runs (default: 400)"}
    args = setup(__doc__, "dispersion_report", {"--runs": runs})
    with local_client() as client:
        frame = monte_carlo(
            LEO_SCRIPT,
            n=args.runs,
            perturb=PERTURB,
            seed=SEED,
            out=args.out / "sweep",
            client=client,
        )
        at_epoch = dispersion(frame, POSITION, at=EPOCH, q=(0.01, 0.5, 0.99))
        ellipsoid = at_epoch.ellipsoid(n_sigma=3)
        states = state_at(frame, POSITION, at=EPOCH).compute()
        low = violation_probability(
            per_run(frame, ["Sat.Earth.Altitude"], how=("min",)), "Sat.Earth.Altitude:min < 615"
        )

    print(at_epoch.summary().to_string(float_format=lambda v: f"{v:.3f}"))
    inside = ellipsoid.contains(states[POSITION].dropna().to_numpy())
    report("runs", at_epoch.runs)
    report("used", at_epoch.used)
    report("mean_x_km", f"{at_epoch.mean['Sat.X']:.6f}")
    report("std_x_km", f"{at_epoch.std['Sat.X']:.6f}")
    report("median_x_km", f"{at_epoch.percentiles.loc[0.5, 'Sat.X']:.6f}")
    report("semi_axes_3sigma_km", ", ".join(f"{a:.3f}" for a in ellipsoid.semi_axes))
    report("major_axis_direction", ", ".join(f"{v:.4f}" for v in ellipsoid.axes[:, 0]))
    report("normal_probability_inside", f"{ellipsoid.probability:.4f}")
    report("inside_3sigma_fraction", f"{inside.mean():.4f}")
    report("state_x_mean_km", f"{np.nanmean(states['Sat.X']):.6f}")
    report("violated", low.violated)
    report("counted", low.n)
    report("p_violation", f"{low.p:.4f}")
    report("wilson_95", ", ".join(f"{v:.4f}" for v in low.wilson))
    report("clopper_pearson_95", ", ".join(f"{v:.4f}" for v in low.clopper_pearson))


if __name__ == "__main__":
    main()
