"""A 50-run scan over the semi-major axis of a low Earth orbit, plotted as altitude vs time.

What it shows:

* ``sweep(script, grid=..., out=...)``: one GMAT run per grid point, run on a Dask cluster
  (here a local one whose 2 workers are threads of this process, each with a GMAT
  engine process of its own: ``_common.local_client`` spells it out), recorded in a
  sweep directory;
* the lazy frame it returns: nothing is read until ``.compute()``, and then only the
  columns you select (here time, altitude and the swept SMA);
* one line per run on an altitude-vs-time plot, coloured by the run's SMA.

Run it (from the repository root; GMAT_ROOT unset means the GMAT stand-in engine):

    .venv/bin/python examples/sma_scan.py                  # into runs/sma_scan-<time>/
    .venv/bin/python examples/sma_scan.py --out runs/sma   # or choose the directory

It writes ``DIR/sweep/`` (the sweep) and ``DIR/altitude_vs_time.png``. Running it again
with the same ``--out`` finds the finished sweep and runs nothing. It prints its key
numbers as ``key: value`` lines.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from _common import LEO_SCRIPT, local_client, report, setup

from gmat_sweep_dask import sweep, time_scale

SMA_KM = np.linspace(6800.0, 7600.0, 50)  # 50 semi-major axes, 6800 km to 7600 km


def main() -> None:
    args = setup(__doc__, "sma_scan")

    # Two workers, threads of this process, each feeding a GMAT engine process of its own.
    with local_client() as client:
        frame = sweep(LEO_SCRIPT, grid={"Sat.SMA": SMA_KM}, out=args.out / "sweep", client=client)

    # The cluster is closed: reading results needs none. The frame is still lazy: pick the
    # columns to plot, then read them.
    data = frame[["time", "Sat.Earth.Altitude", "Sat.SMA", "status"]].compute()
    ok = data[data["status"] == "ok"]
    start = ok["time"].min()
    ok = ok.assign(minutes=(ok["time"] - start).dt.total_seconds() / 60.0)

    fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    colours = plt.cm.viridis
    norm = plt.Normalize(SMA_KM.min(), SMA_KM.max())
    for _, run in ok.groupby(level="run_id"):  # one line per run
        colour = colours(norm(run["Sat.SMA"].iloc[0]))
        ax.plot(run["minutes"], run["Sat.Earth.Altitude"], color=colour, linewidth=1)
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=colours), ax=ax, label="Sat.SMA [km]")
    ax.set_xlabel(f"time since {start:%d %b %Y %H:%M} {time_scale(frame)} [min]")
    ax.set_ylabel("Sat.Earth.Altitude [km]")
    ax.set_title(f"Altitude of {ok.index.nunique()} runs, one line per Sat.SMA value")
    ax.grid(True, alpha=0.3)
    png = args.out / "altitude_vs_time.png"
    fig.savefig(png, dpi=120)

    report("runs", data.index.nunique())
    report("ok", ok.index.nunique())
    report("rows", len(ok))
    report("sma_min_km", f"{ok['Sat.SMA'].min():.1f}")
    report("sma_max_km", f"{ok['Sat.SMA'].max():.1f}")
    report("altitude_min_km", f"{ok['Sat.Earth.Altitude'].min():.1f}")
    report("altitude_max_km", f"{ok['Sat.Earth.Altitude'].max():.1f}")
    report("png", png)


if __name__ == "__main__":
    main()
