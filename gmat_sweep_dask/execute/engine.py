"""One GMAT run through gmat-run, on whichever process calls it (a Dask worker or its host).

gmatpy holds process-global state, so runs in one process are serialised by a lock and
gmat-run's own per-process bootstrap cache means GMAT starts once per worker process.
A run never raises: GMAT errors, rejected overrides and unparsable outputs become a
``failed`` :class:`RunResult` carrying the error text and the tail of GMAT's log. Outputs
are then normalised to Arrow, the form every batch file stores.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from gmat_sweep_dask import wording
from gmat_sweep_dask.execute.confine import confine_outputs, confined_overrides, private_temp_dir
from gmat_sweep_dask.execute.kept import check_kept
from gmat_sweep_dask.execute.reportlayout import check_readable, report_names
from gmat_sweep_dask.execute.scratch import scratch_dir
from gmat_sweep_dask.execute.scriptload import load_mission
from gmat_sweep_dask.execute.scripttext import (
    Rules,
    api_value,
    check_taken,
    in_text,
    lists_of,
    script_with,
)
from gmat_sweep_dask.store.datafiles import normalise

if TYPE_CHECKING:
    from gmat_sweep_dask.execute.postprocess import Hook

#: (kind, name) of one GMAT output, e.g. ("report", "Positions").
OutputKey = tuple[str, str]
#: One run's output, normalised by :func:`gmat_sweep_dask.store.datafiles.normalise`.
Normalised = tuple[pa.Table, dict[str, Any]]

LOG_TAIL_LINES = 25
_GMAT_LOCK = threading.Lock()
_RULES = Rules()  # how each swept field reaches GMAT, per script: one load per run


@dataclass
class RunResult:
    """What one run produced: output tables on success, error text on failure.

    ``tables`` holds the normalised Arrow outputs; a result straight from :func:`execute`
    holds gmat-run's own frames in ``frames`` instead, until :func:`normalised` converts them.
    A run with a postprocess hook (:mod:`~gmat_sweep_dask.execute.postprocess`) also holds
    its metrics table in ``tables`` and the files it added in ``files``; a run its hook
    failed keeps its GMAT tables.
    """

    run_id: int
    status: str
    started: float
    ended: float
    tables: dict[OutputKey, Normalised] = field(default_factory=dict)
    error: str | None = None
    log_tail: str | None = None
    frames: dict[OutputKey, pd.DataFrame] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


def run_mission(
    script: str,
    run_id: int,
    overrides: dict[str, Any],
    working_dir: Path | None,
    hook: Hook | None = None,
    context: dict[str, Any] | None = None,
) -> RunResult:
    """Load ``script``, apply ``overrides``, run it and normalise every output it wrote,
    then run ``hook`` on it (with ``context``).

    ``working_dir`` keeps GMAT's raw text outputs there; ``None`` uses a scratch
    directory that is removed afterwards.
    """
    scratch = scratch_dir(run_id) if working_dir is None else None
    try:
        return run_normalised(script, run_id, overrides, working_dir or scratch, hook, context)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def bootstrap() -> None:
    """Start GMAT in this process now (gmat-run bootstraps once per process).

    A GMAT that cannot be found or loaded raises here and again, as a failed run or
    check, at the first request, where it is reported.
    """
    from gmat_run import bootstrap as bootstrap_gmat
    from gmat_run import locate_gmat

    with _GMAT_LOCK:
        bootstrap_gmat(locate_gmat())


def execute(
    script: str,
    run_id: int,
    overrides: dict[str, Any],
    working_dir: Path,
    hook: Hook | None = None,
    context: dict[str, Any] | None = None,
) -> RunResult:
    """Run the mission in ``working_dir`` and parse its outputs into ``frames``; never raises.

    The outputs stay gmat-run's own frames (:func:`run_normalised` stores them as Arrow);
    a run with a ``hook`` is normalised here and its hook run on it (with ``context``).
    """
    started = time.time()
    try:
        with _GMAT_LOCK:
            frames = _run(script, overrides, working_dir)
        result = RunResult(run_id, "ok", started, time.time(), frames=frames)
    except Exception as exc:  # any failure of this run is recorded, never raised
        return _failed(run_id, started, exc)
    if hook is None:
        return result
    return postprocess_stored(hook, normalised(result), overrides, context or {})


def run_normalised(
    script: str,
    run_id: int,
    overrides: dict[str, Any],
    working_dir: Path,
    hook: Hook | None = None,
    context: dict[str, Any] | None = None,
) -> RunResult:
    """:func:`execute`, its outputs normalised to the Arrow ``tables`` a batch file stores;
    never raises. What a run in a worker and a run request to an engine host return."""
    return normalised(execute(script, run_id, overrides, working_dir, hook, context))


def postprocess_stored(
    hook: Hook, result: RunResult, overrides: dict[str, Any], context: dict[str, Any]
) -> RunResult:
    """Run ``hook`` on a normalised ok ``result`` (a fresh run's, or one read back from the
    sweep's data files); never raises."""
    from gmat_sweep_dask.execute.hookcall import apply

    return apply(hook, result, overrides, context)


def normalised(result: RunResult) -> RunResult:
    """``result`` with its ``frames`` converted to Arrow ``tables``; a failure fails the run."""
    if not result.frames:
        return result
    try:
        tables = {
            key: normalise(key[0], frame, result.run_id) for key, frame in result.frames.items()
        }
    except Exception as exc:  # an output that cannot be stored fails its run
        return _failed(result.run_id, result.started, exc)
    return RunResult(result.run_id, result.status, result.started, result.ended, tables=tables)


def _failed(run_id: int, started: float, exc: Exception) -> RunResult:
    return RunResult(
        run_id,
        "failed",
        started,
        time.time(),
        error=f"{type(exc).__name__}: {exc}",
        log_tail=_log_tail(exc),
    )


def _run(
    script: str, overrides: dict[str, Any], working_dir: Path
) -> dict[OutputKey, pd.DataFrame]:
    lists = lists_of(overrides)  # GMAT's API cannot apply these: its script interpreter does
    key = Rules.key(script)
    rules, mission = _RULES.known(key, overrides), None
    if rules is None:  # a field this script has not had yet: load it to find out
        mission = _load(script, lists)
        rules = _RULES.learn(key, mission.gmat, overrides)
    written = {**lists, **in_text(overrides, rules)}
    if mission is None or len(written) > len(lists):
        mission = _load(script, written)
    check_taken(mission, lists)
    overrides = confined_overrides(mission, overrides)  # a Filename in no directory here
    for path, value in overrides.items():
        if path not in written:
            mission[path] = api_value(value, rules[path])
    check_kept(mission, overrides)  # GMAT may change or ignore a value rather than refuse it
    check_readable(mission)  # a report gmat-run cannot read is not an ok run
    confine_outputs(mission)  # after the overrides: one may set a Filename
    with private_temp_dir(working_dir):  # GMAT's staged files (STK ephemerides) stay ours
        results = mission.run(working_dir=working_dir, overwrite=True)
    frames: dict[OutputKey, pd.DataFrame] = {}
    for kind, mapping in (
        ("report", results.reports),
        ("ephemeris", results.ephemerides),
        ("contact", results.contacts),
        ("solver", getattr(results, "solver_runs", {})),
    ):
        for name in mapping:
            frames[(kind, name)] = mapping[name]
    return frames


def _load(script: str, in_text: dict[str, Any]) -> Any:
    """``script`` loaded by gmat-run, with ``in_text`` assigned in a copy of its text."""
    if not in_text:
        return load_mission(script)
    with script_with(script, in_text) as copy:  # named by what was written, not its path
        written = wording.overrides(in_text)
        return load_mission(
            copy,
            described=f"the script with {written} written into its text",
        )


def _log_tail(exc: BaseException) -> str | None:
    log = getattr(exc, "log", None)
    if not log:
        return None
    return "\n".join(str(log).rstrip().splitlines()[-LOG_TAIL_LINES:])


def check_mission(script: str, fields: list[str]) -> dict[str, Any]:
    """Load ``script`` on this process and read each field; report problems, never raise.

    Returns ``{"gmat": {...}, "values": {field: value}, "reports": [...], "errors": [...]}``
    where each error names the field (or a report layout gmat-run cannot read, see
    :mod:`.reportlayout`), ``values`` holds the script's own value of each field and
    ``reports`` names the script's ReportFiles; ``"gmat_missing": True`` says gmat-run
    found no GMAT install here (distinct from a script that does not load).
    """
    from gmat_run.errors import GmatFieldError

    try:
        with _GMAT_LOCK:
            mission = load_mission(script)
            errors, values = [], {}
            for path in fields:
                try:
                    values[path] = mission[path]
                except GmatFieldError as exc:
                    errors.append(f"field {path!r}: {exc}")
            try:  # the script's own report layout; one the design sets is checked by value
                check_readable(mission, skip=fields)
            except ValueError as exc:
                errors.append(str(exc))
    except Exception as exc:
        missing = type(exc).__name__ == "GmatNotFoundError"  # gmat-run found no GMAT
        said = " ".join(str(exc).split())
        refused = type(exc).__name__ == "GmatLoadError" and said.startswith("GMAT could not")
        problem = said if refused else f"cannot load the script: {type(exc).__name__}: {said}"
        answer = {"gmat": None, "values": {}, "reports": [], "errors": [problem]}
        return {**answer, "gmat_missing": missing}
    gmat = mission.gmat
    info = {
        "root": str(mission.install.root),
        "version": mission.install.version,
        "standin": bool(getattr(gmat, "__gmat_standin__", False)),
    }
    return {"gmat": info, "values": values, "reports": report_names(gmat), "errors": errors}
