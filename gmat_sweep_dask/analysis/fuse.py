"""Several time-keyed outputs of one sweep on one time axis: :func:`fused_reports`.

The first output is the anchor: the result has its rows, with the other outputs' columns
joined on ``(run_id, time)`` exactly, or as of the nearest earlier (later, nearest) row
within a tolerance. The frames are cut at the union of their divisions (run ids), so
partitions never split a run and each output partition is a pandas merge
(``merge_asof`` by ``run_id`` for the as-of join) of one partition of each output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from gmat_sweep_dask.analysis import partitions
from gmat_sweep_dask.analysis.frames import open_sweep
from gmat_sweep_dask.analysis.states import param_columns
from gmat_sweep_dask.analysis.statistics import time_scale
from gmat_sweep_dask.errors import UsageError

_KINDS = ("report", "ephemeris")
_ROW = "__row"
_NTH = "__nth"


def fused_reports(
    source: str | Path | Mapping[str, dd.DataFrame],
    names: Sequence[str] | None = None,
    *,
    tolerance: Any = None,
    direction: str = "backward",
) -> dd.DataFrame:
    """One lazy frame of several ReportFiles (or EphemerisFiles) of one sweep.

    ``source`` is the sweep directory and ``names`` the outputs: ReportFile names, or
    ``ephemeris/<Name>`` for an EphemerisFile. Or ``source`` maps names to frames of
    :func:`~gmat_sweep_dask.open_sweep` already opened (and perhaps narrowed with
    ``loc``). The first output is the anchor and gives the rows: index ``run_id``,
    ``time``, every output's columns, ``status`` and the swept parameters. A column name
    several outputs share is prefixed with the output's name in each (``Orbit/Sat.X``);
    other names are kept.

    ``tolerance=None`` joins rows whose ``time`` is equal (the k-th anchor row at an
    epoch takes the k-th row of the other output at that epoch). Otherwise each anchor
    row takes the other output's row nearest in time in ``direction`` (``backward``: at
    or before, ``forward``: at or after, ``nearest``) within ``tolerance`` (a Timedelta,
    or seconds, on a datetime axis; a number on a numeric one), and ``<Name>/time`` says
    which time was taken. Anchor rows without a match get missing values.

    Raises:
        UsageError: fewer than two outputs, an unknown one, a bad tolerance or
            direction, or outputs whose times are not on one axis (different time
            scales or types).
    """
    if isinstance(source, Mapping):
        opened = dict(source)
        names = list(opened)
    elif names is None or isinstance(names, str):
        raise UsageError(f"fused_reports: give the output names as a list, got {names!r}")
    else:
        names = list(names)
    if len(names) < 2 or len(set(names)) != len(names):
        raise UsageError(f"fused_reports: give two or more different outputs, got {names!r}")
    if direction not in ("backward", "forward", "nearest"):
        raise UsageError(f"direction={direction!r}: use 'backward', 'forward' or 'nearest'")
    if not isinstance(source, Mapping):
        opened = {name: _open(source, name) for name in names}
    _check_axes(opened)
    anchor_name, *other_names = names
    anchor = opened[anchor_name]
    step = None if tolerance is None else _tolerance(tolerance, anchor["time"].dtype)
    renames = _renames(opened)
    params = param_columns(anchor)
    parts = [anchor, *(_data(opened[name]) for name in other_names)]
    lo = max(p.divisions[0] for p in parts)
    hi = min(p.divisions[-1] for p in parts)
    cuts = sorted({lo, hi, *(d for p in parts for d in p.divisions if lo < d < hi)})
    if lo > hi:  # a run range no output shares: the anchor has every run
        cuts = list(parts[0].divisions)
    aligned = [p.loc[cuts[0] : cuts[-1]].repartition(divisions=cuts, force=True) for p in parts]
    args = (list(names), params, renames, step, direction)
    meta = _fuse(*(p._meta for p in aligned), *args)
    return aligned[0].map_partitions(_fuse, *aligned[1:], *args, meta=meta)


def _open(out: str | Path, name: str) -> dd.DataFrame:
    kind, _, report = name.rpartition("/")
    if kind and kind not in _KINDS:
        raise UsageError(f"fused_reports: {name!r}: use 'Name' or 'ephemeris/Name'")
    frame = open_sweep(out, report, kind=kind or "report")
    if "time" not in frame.columns:
        raise UsageError(f"fused_reports: {name!r} has no time column")
    return frame


def _check_axes(opened: dict[str, dd.DataFrame]) -> None:
    """Refuse outputs whose times are not comparable (type or GMAT time scale differ)."""
    axes = {name: (str(f["time"].dtype), time_scale(f)) for name, f in opened.items()}
    if len(set(axes.values())) > 1:
        described = ", ".join(
            f"{n}: {t} in {s or 'an unknown scale'}" for n, (t, s) in axes.items()
        )
        raise UsageError(
            f"fused_reports: the outputs' times are not on one axis ({described}); "
            "report the same epoch (e.g. Sat.UTCGregorian) in each"
        )


def _tolerance(value: Any, dtype: Any) -> Any:
    is_time = pd.api.types.is_datetime64_any_dtype(dtype)
    try:
        if is_time:
            step = value if isinstance(value, pd.Timedelta) else pd.Timedelta(seconds=value)
            step = pd.Timedelta(step)
            good = step >= pd.Timedelta(0)
        else:
            step = float(value)
            good = np.isfinite(step) and step >= 0
    except (TypeError, ValueError):
        good = False
    if isinstance(value, bool) or not good:
        what = "a Timedelta or seconds" if is_time else "a number on the time axis"
        raise UsageError(f"tolerance={value!r}: expected {what}, >= 0")
    return step


def _renames(opened: dict[str, dd.DataFrame]) -> dict[str, dict[str, str]]:
    """Per output, its data columns' names in the result (shared names get a prefix)."""
    skip = {"time", partitions.STATUS}
    data = {
        name: [c for c in f.columns if c not in skip and c not in param_columns(f)]
        for name, f in opened.items()
    }
    counts = pd.Series([c for columns in data.values() for c in columns]).value_counts()
    return {
        name: {c: f"{name.rpartition('/')[2]}/{c}" if counts[c] > 1 else c for c in columns}
        for name, columns in data.items()
    }


def _data(frame: dd.DataFrame) -> dd.DataFrame:
    """A non-anchor output's time and data columns (its status and parameters are the
    anchor's)."""
    skip = {partitions.STATUS, *param_columns(frame)}
    return frame[[c for c in frame.columns if c not in skip]]


def _fuse(anchor: pd.DataFrame, *rest: Any) -> pd.DataFrame:
    """One partition of every output (same runs) fused onto the anchor's rows."""
    *others, names, params, renames, step, direction = rest
    result = anchor.rename(columns=renames[names[0]]).reset_index()
    result = result.rename(columns={result.columns[0]: "run_id"})
    result[_ROW] = np.arange(len(result))
    for name, other in zip(names[1:], others, strict=True):
        right = other.rename(columns=renames[name]).reset_index()
        right = right.rename(columns={right.columns[0]: "run_id"})
        right = right[right["time"].notna()]
        if step is None:
            result[_NTH] = result.groupby(["run_id", "time"], dropna=False).cumcount()
            right[_NTH] = right.groupby(["run_id", "time"]).cumcount()
            result = result.merge(right, on=["run_id", "time", _NTH], how="left")
            result = result.drop(columns=_NTH)
        else:
            label = f"{name.rpartition('/')[2]}/time"
            right = right.rename(columns={"time": label})
            right["time"] = right[label]
            result = _asof(result, right, step, direction)
    tail = [partitions.STATUS, *params]
    ordered = result.sort_values(_ROW, kind="stable")
    middle = [c for c in ordered.columns if c not in {"run_id", "time", _ROW, *tail}]
    return ordered[["run_id", "time", *middle, *tail]].set_index("run_id")


def _asof(left: pd.DataFrame, right: pd.DataFrame, step: Any, direction: str) -> pd.DataFrame:
    """``merge_asof`` by run of the rows of ``left`` that have a time; the rest kept."""
    timed = left[left["time"].notna()].sort_values("time", kind="stable")
    right = right.sort_values("time", kind="stable")
    merged = pd.merge_asof(
        timed, right, on="time", by="run_id", tolerance=step, direction=direction
    )
    untimed = left[left["time"].isna()]
    return pd.concat([merged, untimed], ignore_index=True) if len(untimed) else merged
