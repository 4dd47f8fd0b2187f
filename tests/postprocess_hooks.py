"""Postprocess hooks the tests name as ``postprocess_hooks:<function>`` (tests/ is on the
workers' path). Each takes the run (a :class:`gmat_sweep_dask.HookRun`) and returns metrics."""

from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path
from typing import Any


def final_radius(run: Any) -> dict[str, Any]:
    """Radius and altitude at the last row of the Orbit report, plus a text file."""
    orbit = run.outputs["report/Orbit"]
    last = orbit.iloc[-1]
    radius = math.sqrt(last["Sat.X"] ** 2 + last["Sat.Y"] ** 2 + last["Sat.Z"] ** 2)
    label = run.context.get("label", "")
    run.add_file("summary.txt", f"run {run.run_id} {label} rows={len(orbit)}\n")
    run.add_file("plots/radius.bin", radius.hex().encode())
    return {"final_radius": radius, "rows": len(orbit), "label": label, "high": radius > 7100}


def gated(run: Any) -> dict[str, Any]:
    """Fails unless the file named by the run's context ``gate`` exists."""
    if not Path(run.context["gate"]).exists():
        raise RuntimeError(f"gate {run.context['gate']} is closed")
    return {"rows": len(run.outputs["report/Orbit"]), "run": run.run_id}


def raises(run: Any) -> dict[str, Any]:
    return {"x": 1 / (run.run_id - run.run_id)}


def not_finite(run: Any) -> dict[str, Any]:
    return {"ok": 1.0, "bad": float("nan")}


def not_scalar(run: Any) -> dict[str, Any]:
    return {"bad": [1, 2, 3]}


def not_mapping(run: Any) -> Any:
    return 42.0


def climbs_out(run: Any) -> dict[str, Any]:
    run.add_file("../x", "escaped")
    return {"a": 1}


def absolute_file(run: Any) -> dict[str, Any]:
    run.add_file("/etc/x", "escaped")
    return {"a": 1}


def hangs(run: Any) -> dict[str, Any]:
    time.sleep(3600)
    return {}


def kills_itself(run: Any) -> dict[str, Any]:
    if run.run_id == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return {"a": 1.0}


not_callable = 42


def first_row(run: Any) -> dict[str, Any]:
    """The first row's X of the run's only report, and its row count."""
    (report,) = [frame for key, frame in run.outputs.items() if key.startswith("report/")]
    return {"x0": float(report["Sat.X"].iloc[0]), "rows": len(report)}


def gated_note(run: Any) -> dict[str, Any]:
    """Like :func:`gated`, and keeps a note file."""
    if not Path(run.context["gate"]).exists():
        raise RuntimeError(f"gate {run.context['gate']} is closed")
    run.add_file("note.txt", f"run {run.run_id}\n")
    return {"run": run.run_id}
