"""Probe one GMAT engine through gmat-run and the package's engine module; print JSON.

Run as ``python tests/engine_probe.py`` with ``GMAT_ROOT`` naming the engine (the stand-in
or a real GMAT); ``tests/test_engine_agreement.py`` runs it once per engine and compares
what each did with what real GMAT R2026a does. Each probe runs in this one process, the
fork probe last (it forks after the engine started).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent
REFERENCE = TESTS / "gmat_real" / "scripts" / "reference.script"
EPHEMERIS = TESTS / "gmat_real" / "scripts" / "ephemeris.script"
LEO = TESTS.parent / "examples" / "leo.script"

#: Field writes whose fate (rejected when set, or run) the agreement tests pin.
FIELD_WRITES: list[tuple[str, Any]] = [
    ("Sat.INC", 500),
    ("Sat.INC", -10),
    ("Sat.SMA", 0),
    ("Sat.DryMass", -1),
    ("Integrator.Accuracy", -1),
    ("Integrator.Accuracy", 0),
    ("Integrator.InitialStepSize", 0),
    ("Positions.Precision", 0),
    ("Sat.Epoch", "garbage"),
    ("Sat.ECC", 1.0),
    ("Sat.ECC", -1.0),
    ("Sat.SMA", -5),
    ("Sat.ECC", -3),
    ("Sat.ECC", -0.5),
    ("Sat.ECC", 1.5),
    ("Sat.INC", 180),
    ("Sat.RAAN", 400),
    ("Sat.TA", -720),
    ("Sat.SMA", 6000),
    ("Sat.Cd", -1),
    ("Sat.Cr", 3),
    ("Sat.DryMass", 0),
    ("Integrator.Type", "RungeKutta89"),
    ("EarthMJ2000Eq.Origin", "Earth"),
]


def _run(script: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """One run through the package's engine path: status, error, log tail, first rows."""
    from gmat_sweep_dask.execute.engine import execute

    with tempfile.TemporaryDirectory() as work:
        result = execute(str(script), 0, overrides, Path(work))
    out: dict[str, Any] = {"status": result.status, "error": result.error}
    out["log_tail"] = result.log_tail
    for (kind, name), frame in result.frames.items():
        epoch = frame.columns[0]
        seconds = (frame[epoch] - frame[epoch].iloc[0]).dt.total_seconds()
        numbers = frame.drop(columns=[epoch])
        out[f"{kind}/{name}"] = {
            "columns": [str(c) for c in frame.columns],
            "elapsed": seconds.tolist(),
            "values": {str(c): numbers[c].tolist() for c in numbers.columns},
            "attrs": {k: v for k, v in frame.attrs.items() if isinstance(v, str | int | float)},
        }
    return out


HOHMANN = TESTS / "gmat_real" / "scripts" / "hohmann.script"
_NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")


def probe_solver() -> dict[str, Any]:
    """hohmann.script's targeter from guesses 1.0 and 2.0 (MaximumIterations 25) and 1.0
    (MaximumIterations 2): its table, the .data file's text with numbers masked (``#``),
    the log's verdict lines and the final report row."""
    from gmat_run import Mission

    out: dict[str, Any] = {}
    for label, guess, limit in (("g1", 1.0, 25), ("g2", 2.0, 25), ("max2", 1.0, 2)):
        mission = Mission.load(str(HOHMANN))
        mission["Guess.Value"] = guess
        mission["DC.MaximumIterations"] = limit
        with tempfile.TemporaryDirectory() as work:
            result = mission.run(working_dir=Path(work))
            table = result.solver_runs["DC"]
            path = Path(table.attrs["source_path"])
            text = path.read_text(encoding="utf-8")
            log = (Path(work) / "GmatLog.txt").read_text(encoding="utf-8")
            final = result.reports["Final"].iloc[-1]
        out[label] = {
            "file": path.name,
            "columns": [str(c) for c in table.columns],
            "dtypes": [str(t) for t in table.dtypes],
            "status": table["status"].tolist(),
            "attrs": {k: v for k, v in table.attrs.items() if k != "source_path"},
            "variables": {c: table[c].tolist() for c in ("TOI.Element1", "GOI.Element1")},
            "skeleton": _NUMBER.sub("#", text),
            "verdict": [line for line in log.splitlines() if "onverge" in line],
            "final": {k: float(final[k]) for k in ("Sat.Earth.SMA", "Sat.Earth.ECC")},
        }
    return out


def probe_fields() -> dict[str, Any]:
    return {f"{field}={value!r}": _run(REFERENCE, {field: value}) for field, value in FIELD_WRITES}


def probe_undecodable_path() -> str:
    """What LoadScript does with a path whose bytes are not UTF-8 (``b'\\xff'``)."""
    import shutil

    import gmatpy

    with tempfile.TemporaryDirectory() as work:
        folder = Path(os.fsdecode(os.fsencode(work) + b"/odd\xff"))
        folder.mkdir()
        shutil.copy(LEO, folder / "leo.script")
        try:
            return f"loaded: {gmatpy.LoadScript(str(folder / 'leo.script'))}"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"


def probe_fork() -> dict[str, Any]:
    """Start the engine, fork: may the child call Setup again, and run a mission?"""
    import gmatpy  # the engine's module, already imported by gmat-run's bootstrap
    from gmat_run import Mission

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into the caller
        os.close(read)
        child: dict[str, Any] = {}
        try:
            gmatpy.Setup(None)
            child["setup"] = "ok"
        except Exception as exc:
            child["setup"] = f"{type(exc).__name__}: {exc}"
        try:
            with tempfile.TemporaryDirectory() as work:
                frames = Mission.load(str(REFERENCE)).run(working_dir=Path(work)).reports
                child["rows"] = len(frames["Positions"])
        except Exception as exc:
            child["rows"] = f"{type(exc).__name__}: {exc}"
        os.write(write, json.dumps(child).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def main() -> None:
    from gmat_sweep_dask.execute.engine import bootstrap

    bootstrap()
    results = {
        "reference": _run(REFERENCE, {}),
        "leo": _run(LEO, {}),
        "ephemeris": _run(EPHEMERIS, {}),
        "fields": probe_fields(),
        "solver": probe_solver(),
        "undecodable_path": probe_undecodable_path(),
        "fork": probe_fork(),
    }
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
