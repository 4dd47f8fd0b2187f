"""A per-run postprocess hook: metrics computed on the workers, read back as a lazy frame.

What it shows:

* ``sweep(..., postprocess="orbit_hooks:altitude_summary", context=...)``: after each
  successful GMAT run the hook (in ``orbit_hooks.py``) runs on the worker with the run's
  id, overrides, context and output frames; here it returns the run's lowest and highest
  altitude, whether it went below the context's limit, and keeps a small CSV per run;
* ``open_sweep(out, kind="metrics")``: one row per run, joined with the swept
  parameters like every other output, lazy until ``.compute()``;
* each run's context is recorded in the manifest (resume gives it back), and the hook's
  files are under ``DIR/sweep/runs/<run_id>/``;
* the metrics agree with the same numbers computed from the report afterwards.

Run it (from the repository root; GMAT_ROOT unset means the GMAT stand-in engine):

    .venv/bin/python examples/postprocess_metrics.py --out runs/metrics

It prints its key numbers as ``key: value`` lines.
"""

from __future__ import annotations

from _common import LEO_SCRIPT, local_client, report, setup

from gmat_sweep_dask import Manifest, open_sweep, sweep

LIMIT_KM = 450.0
GRID = {"Sat.SMA": [6800.0, 6900.0, 7000.0, 7100.0], "Sat.ECC": [0.001, 0.02, 0.04]}


def main() -> None:
    args = setup(__doc__, "postprocess_metrics")
    out = args.out / "sweep"
    with local_client() as client:
        frame = sweep(
            LEO_SCRIPT,
            grid=GRID,
            out=out,
            client=client,
            postprocess="orbit_hooks:altitude_summary",
            context=lambda run_id: {"campaign": "leo-2026", "limit_km": LIMIT_KM},
        )

    metrics = open_sweep(out, kind="metrics").compute()  # one row per run, with parameters
    print(metrics[["Sat.SMA", "Sat.ECC", "min_altitude_km", "below_limit"]].to_string())

    # the same numbers from the report itself
    data = frame[["Sat.Earth.Altitude"]].compute()
    lowest = data.groupby(level="run_id")["Sat.Earth.Altitude"].min()
    agree = bool((lowest == metrics["min_altitude_km"]).all())
    context = Manifest.load(out / "manifest.jsonl").entries[0]["context"]

    report("runs", len(metrics))
    report("ok", int((metrics["status"] == "ok").sum()))
    report("below_limit", int(metrics["below_limit"].sum()))
    report("metrics_match_report", agree)
    report("context_recorded", context == {"campaign": "leo-2026", "limit_km": LIMIT_KM})
    report("files", len(list(out.glob("runs/*/altitude_10min.csv"))))


if __name__ == "__main__":
    main()
