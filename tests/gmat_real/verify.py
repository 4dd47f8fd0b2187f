"""Check a real-GMAT GMAT_ROOT (from tests/gmat_real/build.sh) through gmat-run.

Usage, with a Python that has gmat-run 0.6.0 (the project's .venv does)::

    eval "$(tests/gmat_real/build.sh | tail -n 1)"
    .venv/bin/python tests/gmat_real/verify.py            # every check, one process each
    .venv/bin/python tests/gmat_real/verify.py reference  # one check

Each check runs in its own fresh interpreter (GMAT is one engine per process) and prints one
JSON line; ``all`` prints them and exits non-zero if a check that must pass failed. Checks
that only *record* what the no-SPICE engine supports (contact, ...) never fail the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts"

# Real GMAT R2026a, reference mission (../shared/GMAT.md): t = 0 s and t = 30 s rows, km.
REFERENCE_ROWS = {
    0.0: (6993.000000, 0.0, 0.0),
    30.0: (6989.332373, 199.112254, 108.109133),
}
TOLERANCE_KM = 1e-6  # 1 mm; the published rows carry 6 decimals


def _mission(name: str):
    from gmat_run import Mission

    return Mission.load(SCRIPTS / name)


def _elapsed_seconds(df) -> list[float]:
    col = df["Sat.UTCGregorian"]
    return [(t - col.iloc[0]).total_seconds() for t in col]


def check_reference(work: Path) -> dict:
    from gmat_run import runtime
    from gmat_run.install import locate_gmat

    t0 = time.perf_counter()
    runtime.bootstrap(locate_gmat())
    bootstrap_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    mission = _mission("reference.script")
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    res = mission.run(working_dir=work / "run0")
    first_run_ms = (time.perf_counter() - t0) * 1e3
    df = res.reports["Positions"]
    secs = _elapsed_seconds(df)
    errors = {}
    for t, expect in REFERENCE_ROWS.items():
        i = secs.index(t)
        got = [float(df[c].iloc[i]) for c in ("Sat.X", "Sat.Y", "Sat.Z")]
        errors[t] = max(abs(a - b) for a, b in zip(got, expect, strict=True))
    first = (res.report_paths["Positions"]).read_bytes()

    # Warm runs: same Mission, a fresh working dir each time.
    times, identical, rows = [], 0, set()
    for k in range(1, 51):
        t0 = time.perf_counter()
        r = mission.run(working_dir=work / f"run{k}")
        times.append((time.perf_counter() - t0) * 1e3)
        data = r.report_paths["Positions"].read_bytes()
        identical += data == first
        rows.add(len(r.reports["Positions"]))
    # A re-loaded mission too (what a sweep does per run).
    t0 = time.perf_counter()
    m2 = _mission("reference.script")
    r2 = m2.run(working_dir=work / "reload")
    reload_run_ms = (time.perf_counter() - t0) * 1e3
    ok = all(e < TOLERANCE_KM for e in errors.values())
    return {
        "ok": ok,
        "bootstrap_s": round(bootstrap_s, 3),
        "load_script_s": round(load_s, 4),
        "first_run_ms": round(first_run_ms, 1),
        "warm_run_ms_median": round(statistics.median(times), 2),
        "warm_run_ms_min_max": [round(min(times), 2), round(max(times), 2)],
        "reload_and_run_ms": round(reload_run_ms, 1),
        "rows": len(df),
        "elapsed_secs_of_rows": secs,
        "max_error_km": {str(k): v for k, v in errors.items()},
        "row_t30": df.iloc[secs.index(30.0)][["Sat.X", "Sat.Y", "Sat.Z"]].tolist(),
        "reruns_byte_identical": f"{identical}/50",
        "reload_byte_identical": r2.report_paths["Positions"].read_bytes() == first,
        "row_counts_seen": sorted(rows),
        "columns": list(df.columns),
        "dtypes": [str(d) for d in df.dtypes],
        "report_sha256": hashlib.sha256(first).hexdigest(),
        "report_head": first.decode()[:400],
    }


def check_setfield(work: Path) -> dict:
    from gmat_run import GmatFieldError

    out = {}
    cases = [
        ("Sat.SMA", 0),
        ("Sat.INC", 500),
        ("Sat.SMA", -5),
        ("Sat.ECC", -3),
        ("Sat.ECC", 1.5),
        ("Sat.SMA", 6000),  # periapsis inside the Earth
        ("Sat.INC", -10),
        ("Sat.INC", 180),
        ("Sat.RAAN", 400),
        ("Sat.TA", -720),
        ("Sat.DryMass", -1),
        ("Integrator.Accuracy", -1),
        ("Integrator.InitialStepSize", 0),
        ("Positions.Precision", 0),
        ("Sat.Epoch", "garbage"),
        ("Sat.NoSuchField", 1),
    ]
    ok = True
    for dotted, value in cases:
        m = _mission("reference.script")
        key = f"{dotted}={value}"
        try:
            m[dotted] = value
        except GmatFieldError as exc:
            out[key] = "GmatFieldError: " + str(exc).splitlines()[0][:160]
            continue
        except Exception as exc:
            out[key] = f"{type(exc).__name__}: {exc}"[:160]
            continue
        try:
            res = m.run(working_dir=work / key.replace("/", "_"))
            df = res.reports["Positions"]
            out[key] = f"accepted; run ok, {len(df)} rows, last X={float(df['Sat.X'].iloc[-1]):.3f}"
        except Exception as exc:
            out[key] = (
                f"accepted; run raised {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            )
    ok = out["Sat.SMA=0"].startswith("GmatFieldError") and out["Sat.INC=500"].startswith(
        "GmatFieldError"
    )
    return {"ok": ok, "results": out}


def check_fork(work: Path) -> dict:
    """Bootstrap, then fork: a child's Setup must be refused; record what else it can do."""
    m = _mission("reference.script")
    m.run(working_dir=work / "parent")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        rec = {}
        try:
            import signal

            signal.alarm(30)
            import gmatpy as g

            try:
                g.Setup()
                rec["setup"] = "accepted"
            except Exception as exc:
                rec["setup"] = f"{type(exc).__name__}: {exc}"
            try:
                from gmat_run import Mission

                res = Mission.load(SCRIPTS / "reference.script").run(working_dir=work / "child")
                rec["gmat_run_load_and_run"] = f"ran, {len(res.reports['Positions'])} rows"
            except Exception as exc:
                rec["gmat_run_load_and_run"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        except BaseException as exc:
            rec["child_error"] = repr(exc)
        os.write(w, json.dumps(rec).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    _, status = os.waitpid(pid, 0)
    rec = json.loads(data or b"{}")
    rec["child_exit_status"] = status
    rec["ok"] = rec.get("setup", "").startswith("RuntimeError")
    return rec


def check_ephemeris(work: Path) -> dict:
    res = _mission("ephemeris.script").run(working_dir=work)
    rep = res.reports["Orbit"]
    eph = res.ephemerides["Eph"]
    oem = res.ephemeris_paths["Eph"].read_text()
    return {
        "ok": len(eph) > 0,
        "report_rows": len(rep),
        "report_step_s_first": _elapsed_seconds(rep)[:6],
        "ephemeris_rows": len(eph),
        "ephemeris_columns": list(eph.columns),
        "ephemeris_attrs": {k: str(v)[:80] for k, v in eph.attrs.items()},
        "ephemeris_head": eph.head(3).to_dict("list"),
        "oem_head": oem[:900],
    }


def check_ephemeris_formats(work: Path) -> dict:
    """Other EphemerisFile formats (recorded, not required): what runs and what gmat-run reads."""
    from gmat_run import Mission

    text = (SCRIPTS / "ephemeris.script").read_text()
    out: dict = {"ok": None}
    for fmt, name in [
        ("STK-TimePosVel", "sat.e"),
        ("Code-500", "sat.eph"),
        ("SPK", "sat.bsp"),
        ("CCSDS-AEM", "sat.aem"),
    ]:
        script = work / f"{fmt}.script"
        script.write_text(
            text.replace("CCSDS-OEM", fmt).replace("'sat.oem'", f"'{name}'"), encoding="utf-8"
        )
        try:
            res = Mission.load(script).run(working_dir=work / fmt)
        except Exception as exc:
            out[fmt] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            continue
        path = res.ephemeris_paths["Eph"]
        rec = f"ran; file {'exists' if path.exists() else 'missing'}"
        try:
            df = res.ephemerides["Eph"]
            rec += f"; gmat-run parsed {len(df)} rows, columns {list(df.columns)}"
        except Exception as exc:
            rec += f"; gmat-run could not parse: {type(exc).__name__}: {str(exc)[:160]}"
        out[fmt] = rec
    return out


def check_reruns(work: Path) -> dict:
    """Repeated runs of one loaded mission in one process: are the outputs byte-identical?"""
    out: dict = {"ok": None}
    for script, report in [("ephemeris.script", "Orbit"), ("hohmann.script", "Final")]:
        mission = _mission(script)
        blobs = []
        for k in range(10):
            res = mission.run(working_dir=work / script / str(k))
            blobs.append(res.report_paths[report].read_bytes())
        out[script] = f"{sum(b == blobs[0] for b in blobs)}/10 identical to the first"
    return out


def check_contact(work: Path) -> dict:
    try:
        m = _mission("contact.script")
    except Exception as exc:
        return {"ok": None, "load": f"{type(exc).__name__}: {str(exc)[:300]}"}
    try:
        res = m.run(working_dir=work)
    except Exception as exc:
        log = getattr(exc, "log", "") or ""
        return {"ok": None, "run": f"{type(exc).__name__}: {str(exc)[:300]}", "log": log[-600:]}
    out = {"ok": None, "contact_paths": {k: str(v) for k, v in res.contact_paths.items()}}
    try:
        df = res.contacts["Contacts"]
        out["contacts"] = df.astype(str).to_dict("list")
    except Exception as exc:
        out["contacts_error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        p = res.contact_paths.get("Contacts")
        out["file"] = p.read_text()[:600] if p and p.exists() else "missing"
    return out


def check_hohmann(work: Path) -> dict:
    mission = _mission("hohmann.script")  # bootstrap and gmat-run's imports happen here
    times = []
    for k in range(5):
        t0 = time.perf_counter()
        res = mission.run(working_dir=work / f"run{k}")
        times.append((time.perf_counter() - t0) * 1e3)
    out = {
        "run_ms_first": round(times[0], 1),
        "run_ms_warm_median": round(statistics.median(times[1:]), 1),
        "solver_paths": list(res.solver_paths),
    }
    dc = res.solver_runs["DC"]
    out["converged"] = res.converged
    out["solver_run_rows"] = len(dc)
    out["solver_run_columns"] = list(dc.columns)
    out["solver_run_attrs"] = {k: str(v)[:120] for k, v in dc.attrs.items()}
    out["solver_run_tail"] = dc.tail(2).astype(str).to_dict("list")
    final = res.reports["Final"]
    out["final_rows"] = len(final)
    last = final.iloc[-1]
    out["final_last_row"] = {k: str(v) for k, v in last.items()}
    out["data_head"] = res.solver_paths["DC"].read_text()[:700]
    out["ok"] = bool(res.converged.get("DC")) and abs(float(last["Sat.Earth.SMA"]) - 12000) < 1
    return out


def check_standin_outputs(work: Path) -> dict:
    """The stand-in's own every-output script, on the real engine (for comparison)."""
    script = HERE.parent / "gmat_standin" / "scripts" / "leo_outputs.script"
    from gmat_run import Mission

    try:
        res = Mission.load(script).run(working_dir=work)
    except Exception as exc:
        return {"ok": None, "error": f"{type(exc).__name__}: {str(exc)[:400]}"}
    return {
        "ok": None,
        "reports": {k: len(v) for k, v in res.reports.items()},
        "ephemerides": {k: len(v) for k, v in res.ephemerides.items()},
        "contacts": list(res.contact_paths),
    }


CHECKS = {
    "reference": check_reference,
    "setfield": check_setfield,
    "fork": check_fork,
    "ephemeris": check_ephemeris,
    "ephemeris_formats": check_ephemeris_formats,
    "reruns": check_reruns,
    "contact": check_contact,
    "hohmann": check_hohmann,
    "standin_outputs": check_standin_outputs,
}
MUST_PASS = {"reference", "setfield", "fork", "ephemeris", "hohmann"}


def main(argv: list[str]) -> int:
    name = argv[1] if len(argv) > 1 else "all"
    if name == "all":
        failed = []
        for check in CHECKS:
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, __file__, check], capture_output=True, text=True, timeout=600
            )
            wall = time.perf_counter() - t0
            line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
            try:
                rec = json.loads(line)
            except ValueError:
                rec = {"ok": False, "exit": proc.returncode, "stderr": proc.stderr[-1500:]}
            rec["process_wall_s"] = round(wall, 2)
            print(json.dumps({check: rec}), flush=True)
            if check in MUST_PASS and rec.get("ok") is not True:
                failed.append(check)
        print(
            "verify: failed: " + ", ".join(failed)
            if failed
            else "verify: all required checks passed"
        )
        return 1 if failed else 0
    with tempfile.TemporaryDirectory(prefix=f"gmat-real-{name}-") as tmp:
        try:
            rec = CHECKS[name](Path(tmp))
        except Exception as exc:
            rec = {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "tb": traceback.format_exc(),
            }
    print(json.dumps(rec, default=str))
    return 0 if rec.get("ok") is not False else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
