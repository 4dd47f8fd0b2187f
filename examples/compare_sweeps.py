"""Compare two sweeps row by row with ``sweep_diff``: what changed when the script changed.

What it shows:

* the same 12-run grid run on ``examples/leo.script`` and on a copy whose inclination
  is 0.01 deg higher (the "new version" of a mission script);
* ``sweep_diff(a, b)``: a lazy frame on the run ids both sweeps have, rows matched on
  ``(run_id, time)``, with ``<column>:diff`` (b - a), ``<column>:rel``, ``<column>:within``
  and ``within`` per row, and ``status_diff`` where a run's status changed;
* tolerances: absolute (``atol=1.0`` km), relative (``rtol=``) and a callable;
* the same on per-run summaries (``per_run``): one row per run.

Run it (from the repository root; GMAT_ROOT unset means the GMAT stand-in engine):

    .venv/bin/python examples/compare_sweeps.py --out runs/compare

It writes ``DIR/a/``, ``DIR/b/`` and the changed script, and prints ``key: value`` lines.
"""

from __future__ import annotations

import pandas as pd
from _common import LEO_SCRIPT, local_client, report, setup

from gmat_sweep_dask import per_run, sweep, sweep_diff

GRID = {"Sat.SMA": [6900.0, 7000.0, 7100.0, 7200.0], "Sat.ECC": [0.0005, 0.001, 0.002]}
POSITION = ["Sat.X", "Sat.Y", "Sat.Z"]


def within_a_metre_or_a_millionth(column: str, a: pd.Series, b: pd.Series) -> pd.Series:
    """A callable tolerance: 1 m on positions, one part in a million on anything else."""
    if column in POSITION:
        return (b - a).abs() <= 1e-3
    return (b - a).abs() <= 1e-6 * a.abs()


def main() -> None:
    args = setup(__doc__, "compare_sweeps")
    changed = args.out / "leo_inc_plus_0.01.script"
    changed.write_text(LEO_SCRIPT.read_text().replace("Sat.INC = 28.5", "Sat.INC = 28.51"))
    with local_client() as client:
        a = sweep(LEO_SCRIPT, grid=GRID, out=args.out / "a", client=client, progress=False)
        b = sweep(changed, grid=GRID, out=args.out / "b", client=client, progress=False)
        diff = sweep_diff(a, b)  # lazy: nothing read yet
        exact = diff.compute()
        loose = sweep_diff(a, b, atol=1.0).compute()
        relative = sweep_diff(a, b, rtol=1e-3).compute()
        custom = sweep_diff(a, b, tolerance=within_a_metre_or_a_millionth).compute()
        finals = sweep_diff(
            per_run(a, ["Sat.Earth.Altitude"], how=("min", "max")),
            per_run(b, ["Sat.Earth.Altitude"], how=("min", "max")),
        ).compute()

    worst = exact["Sat.Z:diff"].abs().idxmax()
    print(exact[["time", "Sat.Z:a", "Sat.Z:b", "Sat.Z:diff", "within"]].head(4).to_string())
    report("runs_compared", exact.index.nunique())
    report("rows_compared", len(exact))
    report("rows_in_both", int((exact["present"] == "both").sum()))
    report("status_changes", int(exact["status_diff"].notna().sum()))
    report("rows_identical", int(exact["within"].sum()))
    report("max_abs_z_diff_km", f"{exact['Sat.Z:diff'].abs().max():.4f}")
    report("max_abs_z_diff_run", worst)
    report("rows_within_1km", int(loose["within"].sum()))
    report("rows_within_rtol_1e-3", int(relative["within"].sum()))
    report("rows_within_custom", int(custom["within"].sum()))
    report("per_run_rows", len(finals))
    report(
        "max_abs_min_altitude_diff_km", f"{finals['Sat.Earth.Altitude:min:diff'].abs().max():.6f}"
    )


if __name__ == "__main__":
    main()
