"""Each run's state at one epoch or event: the rows of a sweep frame reduced to one per run.

:func:`state_at` is the first step of every dispersion statistic: it turns a sweep frame
(many rows per run) into a lazy frame with one row per run holding the chosen columns at
``at``. It is one ``map_partitions`` over the frame, which never splits a run, so it reads
each partition once and holds one partition at a time per worker thread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from gmat_sweep_dask.analysis import frames, partitions
from gmat_sweep_dask.errors import UsageError

#: Where ``at`` points, once validated: ("row", "first"|"last"), ("time", T),
#: ("elapsed", nanoseconds) or ("event", per-run times).
Where = tuple[str, Any]
_EXPECTED = (
    "expected 'first', 'last', a time on the frame's time axis, a Timedelta after each "
    "run's start, or a Series of per-run event times"
)


def param_columns(frame: dd.DataFrame) -> list[str]:
    """The swept-parameter columns of a sweep frame (or a frame derived from one)."""
    return [c for c in frames.source(frame).params.values() if c in frame.columns]


def state_at(
    frame: dd.DataFrame,
    columns: Sequence[str],
    at: Any = "last",
) -> dd.DataFrame:
    """One row per run: ``status``, the swept parameters, ``time`` and ``columns`` at ``at``.

    ``at`` is one of

    * ``"last"`` / ``"first"``: the run's last (first) row, i.e. its final (initial) state;
    * an epoch on the frame's time axis, the same for every run: a timestamp (``str``,
      ``datetime``, ``numpy.datetime64``, ``pd.Timestamp``, naive, in the report's time
      scale, see :func:`~gmat_sweep_dask.time_scale`) when ``time`` is a datetime, a
      number when ``time`` is numeric (e.g. ModJulian days or elapsed seconds);
    * a ``pd.Timedelta`` (or ``datetime.timedelta``): that long after each run's first row;
    * an event: a pandas or dask Series indexed by ``run_id`` giving each run's own time
      (e.g. the epoch of a maneuver or a contact start); a missing value means the run
      has no such event.

    Between two rows the value is interpolated linearly in time; at a time that has
    several rows in a run (e.g. either side of an impulsive burn) it is the last of
    them. A run whose rows do not span the time, a failed run and a run without rows
    get ``time`` missing and missing values; ``status`` tells them apart. A missing
    value on either side of the interpolation gives a missing value. ``time`` holds the
    epoch the state is for.

    Raises:
        UsageError: an unknown column, no ``time`` column, or an ``at`` that does not fit
            the frame's time axis.
    """
    chosen = list(dict.fromkeys(columns))
    missing = [c for c in chosen if c not in frame.columns]
    if missing:
        raise UsageError(f"no column(s) {missing} in this frame; it has {list(frame.columns)}")
    if "time" not in frame.columns:
        raise UsageError(
            "this frame has no time column (is it already one row per run, e.g. from "
            "per_run()? then give at=None)"
        )
    params = [c for c in param_columns(frame) if c not in chosen]
    is_time = pd.api.types.is_datetime64_any_dtype(frame["time"].dtype)
    where = _where(at, is_time)
    data = frame[["time", *chosen, partitions.STATUS, *params]]
    meta = _states(data._meta, chosen, params, where, None)
    if where[0] == "event" and isinstance(where[1], dd.Series):
        events = where[1]
        if not (events.known_divisions and data.known_divisions):
            raise UsageError("at=: a dask Series of event times needs known divisions")
        first, last = data.divisions[0], data.divisions[-1]
        aligned = events.loc[first:last].repartition(divisions=data.divisions, force=True)
        return data.map_partitions(_states, chosen, params, ("event", None), aligned, meta=meta)
    return data.map_partitions(_states, chosen, params, where, None, meta=meta)


def _where(at: Any, is_time: bool) -> Where:
    """Validate ``at`` against the frame's time axis."""
    if isinstance(at, str) and at in ("first", "last"):
        return ("row", at)
    if isinstance(at, dd.Series | pd.Series):
        dtype = at.dtype
        if is_time != pd.api.types.is_datetime64_any_dtype(dtype) or not (
            pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)
        ):
            kind = "datetime" if is_time else "numeric"
            raise UsageError(f"at=: event times of dtype {dtype} do not fit a {kind} time axis")
        if isinstance(at, pd.Series):
            at = at.astype("datetime64[ns]" if is_time else "float64")
        return ("event", at)
    if isinstance(at, pd.Timedelta | dt.timedelta | np.timedelta64):
        if not is_time:
            raise UsageError(
                f"at={at!r}: a time span needs a datetime time column; this one is numeric, "
                "give a number on its axis instead"
            )
        return ("elapsed", pd.Timedelta(at).value)
    if is_time and isinstance(at, str | dt.datetime | np.datetime64):
        try:
            stamp = pd.Timestamp(at)
        except ValueError:
            raise UsageError(f"at={at!r}: not a timestamp; {_EXPECTED}") from None
        if stamp.tzinfo is not None:
            raise UsageError(
                f"at={at!r}: give a naive timestamp in the report's own time scale "
                "(see time_scale(frame)); time zones do not apply to GMAT epochs"
            )
        return ("time", stamp.as_unit("ns").value)
    if not is_time and isinstance(at, int | float | np.integer | np.floating):
        if isinstance(at, bool) or not np.isfinite(at):
            raise UsageError(f"at={at!r}: not a finite number")
        return ("time", float(at))
    axis = "datetime" if is_time else "numeric"
    raise UsageError(f"at={at!r}: {_EXPECTED} (this frame's time column is {axis})")


def _states(
    data: pd.DataFrame,
    columns: list[str],
    params: list[str],
    where: Where,
    events: pd.Series | None,
) -> pd.DataFrame:
    """The per-run states of one partition (which holds whole runs)."""
    runs = data.index.to_numpy()
    heads = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]]) if len(runs) else runs[:0]
    result = data.iloc[heads][[partitions.STATUS, *params]].copy()
    result.insert(1, "time", data["time"].iloc[:0].reindex(result.index))
    for column in columns:
        result[column] = np.nan
    kept = data[data["time"].notna()]
    if not len(kept):
        return result
    ids = kept.index.to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    lasts = np.r_[starts[1:], len(ids)] - 1
    stamps = kept["time"]
    is_time = pd.api.types.is_datetime64_any_dtype(stamps.dtype)
    t = stamps.to_numpy("datetime64[ns]").view(np.int64) if is_time else stamps.to_numpy(float)
    kind, value = where
    if kind == "row":
        lower = upper = lasts if value == "last" else starts
        target, weight, inside = t[lower], np.zeros(len(lower)), np.ones(len(lower), bool)
    else:
        value = events if kind == "event" and events is not None else value
        target, known = _targets(kind, value, ids[starts], t[starts], is_time)
        lower, upper, weight, inside = _brackets(t, starts, lasts, target)
        inside &= known
    rows = result.index.get_indexer(ids[starts])
    times = result["time"].to_numpy().copy()
    if is_time:  # NaT is the smallest int64
        times[rows] = np.where(inside, target, np.iinfo(np.int64).min).view("datetime64[ns]")
    else:
        times[rows] = np.where(inside, target, np.nan)
    result["time"] = times
    for column in columns:
        x = kept[column].to_numpy("float64", na_value=np.nan)
        value_at = np.where(weight == 0, x[lower], x[lower] + weight * (x[upper] - x[lower]))
        filled = np.full(len(result), np.nan)
        filled[rows] = np.where(inside, value_at, np.nan)
        result[column] = filled
    return result


def _targets(
    kind: str, value: Any, run_ids: np.ndarray, starts: np.ndarray, is_time: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The time each run is evaluated at (int64 nanoseconds on a datetime axis, else
    float) and whether it has one."""
    if kind == "time":
        target = np.full(len(run_ids), value, dtype=np.int64 if is_time else float)
    elif kind == "elapsed":
        target = starts + np.int64(value)
    elif is_time:
        stamps = value.reindex(run_ids).to_numpy("datetime64[ns]")
        return stamps.view(np.int64), ~np.isnat(stamps)
    else:
        target = value.reindex(run_ids).to_numpy("float64", na_value=np.nan)
    return target, ~np.isnan(target) if not is_time else np.ones(len(target), bool)


def _brackets(
    t: np.ndarray, starts: np.ndarray, lasts: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows either side of each run's target, the interpolation weight, and whether the
    run's rows span the target (rows are sorted by time within a run)."""
    per_row = np.repeat(target, lasts - starts + 1)
    with np.errstate(invalid="ignore"):
        at_or_before = np.add.reduceat((t <= per_row).astype(np.int64), starts)
        inside = (at_or_before > 0) & (target <= t[lasts])
    lower = np.where(inside, starts + at_or_before - 1, starts)
    upper = np.minimum(lower + 1, lasts)
    span = (t[upper] - t[lower]).astype(float)
    offset = (target - t[lower]).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(offset == 0, 0.0, offset / np.where(span == 0, 1.0, span))
    return lower, upper, np.where(inside, weight, 0.0), inside
