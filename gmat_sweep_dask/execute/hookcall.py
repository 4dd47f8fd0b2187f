"""Calling a postprocess hook on one finished run, and checking what it gives back.

A hook is called as ``hook(run)`` with a :class:`HookRun` (the run's id, overrides,
context and output frames) after a successful GMAT run, in the process that ran GMAT (the
worker's engine host, so the run's timeout covers GMAT and the hook together, and a hook
that crashes or hangs costs that run only), before the batch's files and commit record
are written. It returns a mapping of metric name to a finite number, text or bool (the
run's row of the ``metrics`` output) and may add files with :meth:`HookRun.add_file`
(written under ``runs/<run_id>/`` in the sweep directory, nowhere else). An exception,
or anything else returned, fails the run with an error starting ``postprocess:`` (the
exception and where the hook raised it; the traceback is the entry's ``log_tail``); the
run's GMAT outputs are kept, so a resume runs the hook alone
(:mod:`~gmat_sweep_dask.execute.hooked`).
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gmat_sweep_dask.store.confine import is_confined

if TYPE_CHECKING:
    import pandas as pd

    from gmat_sweep_dask.execute.postprocess import Hook

#: An :class:`~gmat_sweep_dask.execute.engine.RunResult` (not imported: engine imports us).
RunResult = Any

#: The output the metrics are stored as: ``data/metrics/postprocess/``.
METRICS = ("metrics", "postprocess")
#: What the error of a run failed by its hook starts with.
REASON = "postprocess: "
_RESERVED = frozenset({"run_id", "row"})
_TRACE_LINES = 25


@dataclass
class HookRun:
    """What a hook receives: one finished run.

    ``outputs`` maps ``"<kind>/<Name>"`` (e.g. ``"report/Orbit"``) to that output of this
    run as a pandas frame, the way the sweep stores it: the key column first (``time``
    for reports and ephemerides, ``interval_id`` for contacts, ``iteration`` for solver
    histories), then GMAT's columns (numbers as float64). ``context`` is the run's JSON
    context (``{}`` without one).
    """

    run_id: int
    overrides: dict[str, Any]
    context: dict[str, Any]
    outputs: dict[str, pd.DataFrame]
    files: dict[str, bytes] = field(default_factory=dict)

    def add_file(self, name: str, data: bytes | str) -> None:
        """Keep ``data`` (bytes, or text written as UTF-8) as ``runs/<run_id>/<name>``.

        ``name`` is relative (``"plots/x.png"``); an absolute name or one with ``..`` fails
        the run when the hook returns.
        """
        self.files[name] = data.encode() if isinstance(data, str) else data


def apply(
    hook: Hook, result: RunResult, overrides: dict[str, Any], context: dict[str, Any]
) -> RunResult:
    """Run ``hook`` on an ok, normalised ``result``; never raises.

    Returns ``result`` with the metrics table added to its tables and the hook's files
    in ``files``; or failed with ``postprocess: ...`` and its GMAT tables kept.
    """
    from gmat_sweep_dask.store.datafiles import normalise

    if result.status != "ok":
        return result
    frames = {
        f"{kind}/{name}": table.drop_columns(["run_id"]).to_pandas()
        for (kind, name), (table, _) in result.tables.items()
    }
    run = HookRun(result.run_id, dict(overrides), dict(context), frames)
    try:
        returned = hook.load()(run)
    except Exception as exc:
        return _failed(result, _summary(exc), _trace(exc))
    problem = _check_metrics(returned) or _check_files(run.files)
    if problem:
        return _failed(result, problem)
    import pandas as pd

    metrics = {k: _native(v) for k, v in returned.items()}
    tables = dict(result.tables)
    if metrics:
        tables[METRICS] = normalise(METRICS[0], pd.DataFrame([metrics]), result.run_id)
    result.tables, result.files, result.ended = tables, dict(run.files), time.time()
    return result


def _failed(result: RunResult, problem: str, trace: str | None = None) -> RunResult:
    result.status, result.error, result.log_tail = "failed", REASON + problem, trace
    result.ended = time.time()
    return result


def _check_metrics(returned: Any) -> str | None:
    if not isinstance(returned, Mapping):
        return (
            f"the hook returned {returned!r:.80} ({type(returned).__name__}); expected a "
            "mapping of metric name to number, text or bool"
        )
    for name, value in returned.items():
        if not isinstance(name, str) or not name or name in _RESERVED:
            return f"metric name {name!r} is not allowed (non-empty text other than run_id, row)"
        value = _native(value)
        if isinstance(value, float) and not math.isfinite(value):
            return f"metric {name!r} is {value!r}; metrics must be finite numbers, text or bools"
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
            return f"metric {name!r} is {value!r}; integers must fit in 64 bits"
        if not isinstance(value, bool | int | float | str):
            return (
                f"metric {name!r} is {value!r:.80} ({type(value).__name__}); expected a "
                "number, text or bool"
            )
    return None


def _native(value: Any) -> Any:
    """A numpy scalar as its Python value; anything else unchanged."""
    import numpy as np

    return value.item() if isinstance(value, np.generic) else value


def _check_files(files: dict[str, Any]) -> str | None:
    for name, data in files.items():
        if not is_confined(name) or name.startswith("~"):
            return (
                f"file name {name!r} is absolute or climbs out of the run's directory; "
                "give a relative name such as 'plots/x.png'"
            )
        if not isinstance(data, bytes):
            return f"file {name!r}: its content is {type(data).__name__}; give bytes or text"
    return None


def _summary(exc: BaseException) -> str:
    """``Type: message (file.py:12 in func)``: the exception and where the hook raised it."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" ({last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name})"
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message:.300}{where}"


def _trace(exc: BaseException) -> str:
    lines = "".join(traceback.format_exception(exc)).rstrip().splitlines()
    return "\n".join(lines[-_TRACE_LINES:])
