"""List-valued fields: sweep which bodies pull on the spacecraft and what the report lists.

What it shows:

* ``grid=`` with list values: ``EarthOnly.PointMasses`` (the force model's point masses,
  ``{Earth}`` or ``{Earth, Luna, Sun}``) and ``Orbit.Add`` (the ReportFile's columns);
* each run's report holds exactly the columns its ``Orbit.Add`` lists;
* the frame shows list values as GMAT script text (``{Earth, Luna, Sun}``), so you can
  group on them; the manifest records them as JSON lists;
* on real GMAT the third bodies move the satellite (``third_body_shift_m`` > 0); the GMAT
  stand-in engine is two-body only and says so in its log (the shift is 0 there).

Run it (from the repository root; GMAT_ROOT unset means the GMAT stand-in engine):

    .venv/bin/python examples/list_overrides.py --out runs/lists

It prints its key numbers as ``key: value`` lines.
"""

from __future__ import annotations

from _common import LEO_SCRIPT, local_client, report, setup

from gmat_sweep_dask import Manifest, sweep

BODIES = [["Earth"], ["Earth", "Luna", "Sun"]]
COLUMNS = [
    ["Sat.UTCGregorian", "Sat.X", "Sat.Y", "Sat.Z"],
    ["Sat.UTCGregorian", "Sat.X", "Sat.Y", "Sat.Z", "Sat.Earth.Altitude"],
]


def main() -> None:
    args = setup(__doc__, "list_overrides")
    out = args.out / "sweep"
    grid = {"EarthOnly.PointMasses": BODIES, "Orbit.Add": COLUMNS}
    with local_client() as client:
        frame = sweep(LEO_SCRIPT, grid=grid, out=out, client=client)

    data = frame.compute()
    per_run = data.groupby(level="run_id")
    print(per_run[["EarthOnly.PointMasses", "Orbit.Add"]].first().to_string())
    with_altitude = per_run["Sat.Earth.Altitude"].apply(lambda a: bool(a.notna().all()))
    last = per_run[["Sat.X", "Sat.Y", "Sat.Z"]].last()
    shift_km = ((last.loc[2] - last.loc[0]) ** 2).sum() ** 0.5  # {Earth, Luna, Sun} vs {Earth}
    recorded = Manifest.load(out / "manifest.jsonl", full=True).entries[3]["overrides"]

    report("runs", per_run.ngroups)
    report("ok", int((per_run["status"].first() == "ok").sum()))
    report("runs_with_altitude", int(with_altitude.sum()))
    report("bodies", ", ".join(sorted(data["EarthOnly.PointMasses"].unique())))
    report("recorded_run3", recorded["EarthOnly.PointMasses"])
    report("third_body_shift_m", f"{shift_km * 1000:.3f}")


if __name__ == "__main__":
    main()
