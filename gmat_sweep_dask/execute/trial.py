"""Try a sweep before running it: which GMAT, does the script load, which fields the sweep
would set (their values in the script and their types), one mission run and timed, and
an estimate of the whole sweep on the chosen workers.

:func:`check` answers in seconds (the GMAT start-up plus one run): it starts no cluster
and writes no sweep directory; its run runs a copy of the script taken as a sweep's is,
in a temporary directory. It uses the same engine host process as a worker does
(:mod:`~gmat_sweep_dask.execute.isolation`) and the same checks as a sweep's start
(:mod:`~gmat_sweep_dask.execute.preflight`), so what passes here passes there.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gmat_sweep_dask import config
from gmat_sweep_dask.design import Design, Grid
from gmat_sweep_dask.execute import isolation, preflight
from gmat_sweep_dask.execute.trial_report import render_html, render_text
from gmat_sweep_dask.store import snapshot

SUMMARY_RUNS = 10_000
"""Runs of a non-grid design read to summarise the values it sets."""


@dataclass
class FieldCheck:
    """One swept field: its value in the script, that value's type, what the sweep sets."""

    name: str
    script_value: Any
    kind: str
    sweep_sets: str


@dataclass(repr=False)
class CheckReport:
    """What :func:`check` found. ``str()`` and ``repr()`` are the text ``gmat-sweep-dask
    check`` prints (an interactive session shows it as it is)."""

    script: Path
    gmat: dict[str, Any]
    fields: list[FieldCheck]
    runs: int | None
    workers: int
    start_s: float
    """Seconds to start the GMAT engine process and load the script in it."""
    run_id: int
    overrides: dict[str, Any]
    status: str
    run_s: float
    """Seconds GMAT took to run the mission once."""
    outputs: dict[str, int] = field(default_factory=dict)
    failure: str | None = None

    @property
    def estimate_s(self) -> float | None:
        """``runs × run_s / workers`` plus the engine start-up (None without a design)."""
        if self.runs is None:
            return None
        return self.runs * self.run_s / self.workers + self.start_s

    def __str__(self) -> str:
        return render_text(self)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return render_html(self)


def check(
    script: str | Path,
    design: Design | None = None,
    *,
    workers: int | None = None,
    timeout: float | None = None,
    report: str | None = None,
) -> CheckReport:
    """Check ``script`` and ``design`` on this machine and run the design's first run once.

    ``design`` is the sweep's parameter space (None: the script as written, no
    estimate); ``workers`` the worker processes the sweep will have (default: this
    machine's cores, as a local sweep starts); ``timeout`` bounds the one run (default:
    the ``timeout`` setting). A run that fails is reported, not raised.

    Raises:
        GmatMissingError: GMAT is not installed here.
        ScriptError: the script does not load, a field does not exist, a value does not
            fit its field, or ``report`` names no ReportFile of the script.
    """
    path = preflight.resolve_script(script)
    workers = workers or os.cpu_count() or 1
    try:
        started = time.monotonic()
        answer = preflight.inspect_locally(path, design, report)
        start_s = time.monotonic() - started
        assert answer is not None  # required: a missing GMAT raised
        overrides = design.overrides([0])[0] if design is not None else {}
        with snapshot.temporary(path) as copy:
            (result,) = isolation.run_isolated(
                str(copy), [(0, overrides, None)], config.get("timeout", timeout)
            )
    finally:
        isolation.shutdown()
    failure = None
    if result.status != "ok":
        from gmat_sweep_dask.analysis.failures import explain

        failure = explain(result.error, result.log_tail).text()
    return CheckReport(
        script=path,
        gmat=answer["gmat"],
        fields=_fields(design, answer["values"]) if design is not None else [],
        runs=design.n_runs if design is not None else None,
        workers=workers,
        start_s=start_s,
        run_id=0,
        overrides=overrides,
        status=result.status,
        run_s=max(result.ended - result.started, 0.0),
        outputs={
            f"{kind}/{name}": table.num_rows for (kind, name), (table, _) in result.tables.items()
        },
        failure=failure,
    )


def _fields(design: Design, nominal: dict[str, Any]) -> list[FieldCheck]:
    """Each swept field with its script value, type, and a summary of the values set."""
    from gmat_sweep_dask import wording

    if isinstance(design, Grid):
        sets = design.distinct_values()
        partial = False
    else:
        block = design.block(0, min(design.n_runs, SUMMARY_RUNS))
        sets = {name: block[name].tolist() for name in design.fields}
        partial = design.n_runs > SUMMARY_RUNS
    checks = []
    for name in design.fields:
        values = sets.get(name, [])
        distinct = list(dict.fromkeys(_hashable(v) for v in values))
        numbers = [v for v in distinct if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(distinct) == 1:
            summary = wording.value(distinct[0])
        elif numbers and len(numbers) == len(distinct):
            summary = f"{len(distinct):,} values, {min(numbers):.6g} to {max(numbers):.6g}"
        else:
            shown = ", ".join(wording.value(v) for v in distinct[:4])
            summary = f"{len(distinct):,} values: {shown}" + (", ..." if len(distinct) > 4 else "")
        if partial:
            summary += f" (in the first {SUMMARY_RUNS:,} runs)"
        value = nominal.get(name)
        checks.append(FieldCheck(name, value, preflight.kind_of(value), summary))
    return checks


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
