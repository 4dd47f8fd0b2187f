"""Several outputs of one sweep on one time axis with ``fused_reports``: exact and as-of.

What it shows, on a 6-run grid of ``examples/leo_reports.script`` (two ReportFiles every
60 s, ``Orbit`` and ``Ground``, and an EphemerisFile ``Eph`` every 120 s, all in UTC):

* ``fused_reports(out, ["Orbit", "Ground"])``: the two reports joined on
  ``(run_id, time)``; a column both write (``Sat.Earth.Altitude``) is kept from each as
  ``Orbit/Sat.Earth.Altitude`` and ``Ground/Sat.Earth.Altitude``;
* ``fused_reports(out, ["Orbit", "ephemeris/Eph"], tolerance=60)``: each report row takes
  the ephemeris row at or before it, at most 60 s earlier (``Eph/time`` says which);
  with ``tolerance=30`` the rows between two ephemeris epochs get no match.

Run it (from the repository root; GMAT_ROOT unset means the GMAT stand-in engine):

    .venv/bin/python examples/fused_reports.py --out runs/fused

It writes ``DIR/sweep/`` and prints ``key: value`` lines.
"""

from __future__ import annotations

import numpy as np
from _common import EXAMPLES, local_client, report, setup

from gmat_sweep_dask import fused_reports, open_sweep, sweep

SCRIPT = EXAMPLES / "leo_reports.script"
GRID = {"Sat.SMA": [6900.0, 7000.0, 7100.0], "Sat.ECC": [0.001, 0.01]}


def main() -> None:
    args = setup(__doc__, "fused_reports")
    out = args.out / "sweep"
    with local_client() as client:
        sweep(SCRIPT, grid=GRID, out=out, client=client, report="Orbit", progress=False)

    both = fused_reports(out, ["Orbit", "Ground"])  # lazy
    table = both.compute()
    print(table.loc[0].head(3).T.to_string())
    with_eph = fused_reports(out, ["Orbit", "ephemeris/Eph"], tolerance=60).compute()
    tight = fused_reports(out, ["Orbit", "ephemeris/Eph"], tolerance=30).compute()
    lag = (with_eph["time"] - with_eph["Eph/time"]).dt.total_seconds()
    same = with_eph["time"] == with_eph["Eph/time"]
    gap = (with_eph["Sat.X"] - with_eph["X"]).abs()

    report("orbit_rows", len(open_sweep(out, "Orbit").compute()))
    report("fused_rows", len(table))
    report("fused_columns", ", ".join(table.columns))
    report(
        "altitudes_agree",
        bool(np.array_equal(table["Orbit/Sat.Earth.Altitude"], table["Ground/Sat.Earth.Altitude"])),
    )
    report("eph_rows", len(open_sweep(out, kind="ephemeris").compute()))
    report("asof_rows", len(with_eph))
    report("asof_matched", int(with_eph["Eph/time"].notna().sum()))
    report("asof_max_lag_s", f"{lag.max():.0f}")
    report("same_epoch_max_x_gap_km", f"{gap[same].max():.9f}")
    report("tight_matched", int(tight["Eph/time"].notna().sum()))


if __name__ == "__main__":
    main()
