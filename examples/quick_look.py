"""A quick look without a sweep directory: ``sweep(..., out=None)``.

What it shows:

* ``sweep(script, grid=..., out=None)`` runs the sweep in a new temporary directory
  (under the system's temporary directory, ``gmat-sweep-dask-*``, its path printed);
* ``sweep_path(frame)`` names it; a frame derived from the result (here the per-run
  final altitude) keeps it alive;
* once the last frame reading it is garbage collected the directory is removed (at the
  latest when Python exits). Nothing is left to resume: use ``out=`` for anything you
  want to keep.

Run it (from the repository root; GMAT_ROOT unset means the GMAT stand-in engine):

    .venv/bin/python examples/quick_look.py

It prints its key numbers as ``key: value`` lines (``--out`` is accepted, like every
example's, and left empty: the sweep is temporary).
"""

from __future__ import annotations

import gc
import time

from _common import LEO_SCRIPT, local_client, report, setup

from gmat_sweep_dask import per_run, sweep, sweep_path


def main() -> None:
    setup(__doc__, "quick_look")
    with local_client() as client:
        frame = sweep(LEO_SCRIPT, grid={"Sat.SMA": [6900, 7000, 7100, 7200]}, client=client)
        where = sweep_path(frame)
        finals = per_run(frame, ["Sat.Earth.Altitude"], how=("last",))
        del frame
        gc.collect()
        report("kept_while_derived_frame_lives", where.is_dir())
        altitudes = finals["Sat.Earth.Altitude:last"].compute()
    report("runs", len(altitudes))
    report("final_altitudes_km", ", ".join(f"{v:.1f}" for v in altitudes))
    del finals
    deadline = time.monotonic() + 30  # a client may let go of a graph a moment later
    while where.exists() and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.1)
    report("temporary_dir", where)
    report("removed", not where.exists())


if __name__ == "__main__":
    main()
