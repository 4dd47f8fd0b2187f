"""Postprocess hooks for the examples: ``orbit_hooks:<function>``.

A hook runs on the Dask worker after each successful GMAT run. It receives the run
(``run.run_id``, ``run.overrides``, ``run.context`` and ``run.outputs``, its output
frames by ``"<kind>/<Name>"``), returns a mapping of scalars (the run's row of
``open_sweep(out, kind="metrics")``) and may keep files with ``run.add_file``. The
workers import it by name, so this module must be importable there (the examples'
directory is on their path because the example script lives in it).
"""

from __future__ import annotations

from typing import Any


def altitude_summary(run: Any) -> dict[str, Any]:
    """Lowest and highest altitude of the run, whether it dips below the context's limit,
    and a small CSV of the run's altitude every 10 minutes."""
    orbit = run.outputs["report/Orbit"]
    altitude = orbit["Sat.Earth.Altitude"]
    limit = run.context["limit_km"]
    every_10_min = orbit.iloc[::10][["time", "Sat.Earth.Altitude"]]
    run.add_file("altitude_10min.csv", every_10_min.to_csv(index=False))
    return {
        "min_altitude_km": float(altitude.min()),
        "max_altitude_km": float(altitude.max()),
        "below_limit": bool(altitude.min() < limit),
        "campaign": run.context["campaign"],
    }
