"""How a :class:`~gmat_sweep_dask.execute.trial.CheckReport` reads: text for the shell,
HTML for a notebook, the same lines in both."""

from __future__ import annotations

import html
from typing import Any

from gmat_sweep_dask import wording

CheckReport = Any
"""A :class:`gmat_sweep_dask.execute.trial.CheckReport` (not imported: it imports this)."""


def lines(report: CheckReport) -> list[tuple[str, str]]:
    """``(label, text)`` pairs, in order; the fields table is rendered by the callers."""
    gmat = report.gmat or {}
    if gmat.get("standin"):
        engine = (
            f"the GMAT stand-in engine (a test double for GMAT {gmat.get('version')}: "
            f"two-body Kepler, not real GMAT) at {gmat.get('root')}"
        )
    else:
        engine = f"GMAT {gmat.get('version')} at {gmat.get('root')}"
    took = wording.seconds(report.run_s)
    outputs = "; ".join(
        f"{name}: {wording.plural(rows, 'row')}" for name, rows in sorted(report.outputs.items())
    )
    run = (
        f"run {report.run_id} ({wording.overrides(report.overrides)})"
        if report.overrides
        else "the script as written"
    )
    if report.status == "ok":
        one = f"{run} ok in {took}" + (f"; {outputs}" if outputs else "")
    else:
        one = f"{run} FAILED after {took}: {report.failure}"
    found = [
        ("GMAT", engine),
        (
            "script",
            f"{report.script} loads; starting GMAT and loading it took "
            f"{wording.seconds(report.start_s)}",
        ),
        ("one run", one),
    ]
    if report.runs is None:
        found.append(("estimate", "- (give --grid, --samples or --perturb for one)"))
    else:
        workers = wording.plural(report.workers, "worker")
        runs_s = report.runs * report.run_s / report.workers
        found.append(
            (
                "estimate",
                f"{wording.plural(report.runs, 'run')} × {took} / {workers} = "
                f"{wording.seconds(runs_s)} of GMAT, plus {wording.seconds(report.start_s)} to "
                f"start the engines: about {wording.seconds(report.estimate_s)}, plus the "
                "cluster's own start-up"
                + (" (timed on a failed run)" if report.status != "ok" else ""),
            )
        )
    return found


def field_rows(report: CheckReport) -> tuple[list[str], list[list[str]]]:
    """The fields table: headers and one row per swept field."""
    headers = ["field", "in the script", "type", "this sweep sets"]
    rows = [[f.name, _shown(f.script_value), f.kind, f.sweep_sets] for f in report.fields]
    return headers, rows


def _shown(value: object) -> str:
    """A script value to 12 significant digits (GMAT's conversions, e.g. Keplerian to
    Cartesian and back, leave noise in the last of a double's 17)."""
    return f"{value:.12g}" if isinstance(value, float) else wording.value(value)


def render_text(report: CheckReport) -> str:
    """The report as ``gmat-sweep-dask check`` prints it."""
    found = lines(report)
    out = [f"{label + ':':<10}{text}" for label, text in found[:2]]
    headers, rows = field_rows(report)
    if rows:
        out.append("fields:")
        out += ["  " + line for line in wording.table(headers, rows).splitlines()]
    else:
        out.append("fields:   - (the script runs as written)")
    out += [f"{label + ':':<10}{text}" for label, text in found[2:]]
    return "\n".join(out)


def render_html(report: CheckReport) -> str:
    """The report as a notebook shows it."""
    found = lines(report)
    items = "".join(
        f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
        f"<td style='text-align:left'>{html.escape(text)}</td></tr>"
        for label, text in found
    )
    headers, rows = field_rows(report)
    table = ""
    if rows:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
        )
        table = f"<table><tr>{head}</tr>{body}</table>"
    return f"<table>{items}</table>{table}"
