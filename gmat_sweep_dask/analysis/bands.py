"""Dispersion bands: quantiles and statistics of sweep columns across ok runs, per time.

Rows are keyed by time (or seconds since each run's start, optionally resampled onto a
common step), moved between partitions by key (a shuffle), then reduced per key with
exact quantiles; see :func:`bands`. Lazy like every summary; result columns are named
``<column>:<statistic>``, e.g. ``Sat.X:q0.05``, ``Sat.X:mean``.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask.dataframe as dd
import numpy as np
import pandas as pd

from gmat_sweep_dask.analysis import partitions
from gmat_sweep_dask.analysis.statistics import check
from gmat_sweep_dask.errors import UsageError
from gmat_sweep_dask.store import manifest as mf

BAND_STATS = ("mean", "std", "min", "max", "count")
KEY = "__key"


def bands(
    frame: dd.DataFrame,
    columns: Sequence[str],
    q: Sequence[float] = (0.05, 0.5, 0.95),
    *,
    by: str = "time",
    step: float | None = None,
    include: Sequence[str] = ("mean", "count"),
) -> dd.DataFrame:
    """Quantiles of ``columns`` across ok runs at each time step, like a dispersion band.

    ``by="time"`` groups rows whose ``time`` is equal; ``by="elapsed"`` groups by seconds
    since each run's first row (runs starting at different epochs line up). With ``step``
    (seconds) each run is first resampled by linear interpolation onto a grid: multiples of
    ``step`` since 1970-01-01 (``time``) or since the run's start (``elapsed``), within the
    run's own span; use it when runs report at different times. Quantiles are exact
    (linear interpolation between order statistics, as numpy/pandas), ``include`` adds any
    of ``mean``, ``std`` (ddof=1), ``min``, ``max``, ``count``. Rows are moved between
    partitions by key (a shuffle), so no task holds more than its share of the rows; the
    result is one partition indexed by ``time`` or ``elapsed`` (seconds), sorted.

    Raises:
        UsageError: bad ``q``, ``by``, ``step``, ``include`` or column.
    """
    chosen = list(columns)
    check(frame, chosen, include, BAND_STATS)
    if by not in ("time", "elapsed") or "time" not in frame.columns:
        raise UsageError(f"by={by!r}: use 'time' or 'elapsed' on a frame with a time column")
    if (not q and not include) or any(not 0 < v < 1 for v in q) or (step is not None and step <= 0):
        raise UsageError(f"q={list(q)} must lie in (0, 1) and step={step!r} must be positive")
    data = frame[["time", *chosen, partitions.STATUS]]
    data = data[data[partitions.STATUS] == mf.OK]
    args = (chosen, by, step)
    keyed = data.map_partitions(_keyed, *args, meta=_keyed(data._meta, *args))
    if keyed.npartitions > 1:
        keyed = keyed.shuffle(on=KEY, npartitions=keyed.npartitions)
    stats = (chosen, list(q), list(include), by)
    meta = _band_stats(keyed._meta, *stats)
    reduced = keyed.map_partitions(_band_stats, *stats, meta=meta)
    return reduced.repartition(npartitions=1).map_partitions(pd.DataFrame.sort_index, meta=meta)


def _keyed(data: pd.DataFrame, columns: list[str], by: str, step: float | None) -> pd.DataFrame:
    """The rows of ``data`` with their group key in column :data:`KEY` (resampled if step)."""
    data = data[data["time"].notna()]
    runs = data.index.to_numpy()
    is_time = pd.api.types.is_datetime64_any_dtype(data["time"].dtype)
    raw = data["time"].to_numpy("datetime64[ns]" if is_time else "float64")
    ns = raw.view(np.int64) if is_time else np.round(raw * 1e9).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]]) if len(runs) else np.zeros(0, int)
    sizes = np.diff([*starts, len(runs)])
    origin = np.repeat(ns[starts], sizes) if by == "elapsed" else np.zeros(len(ns), np.int64)
    values = {c: data[c].to_numpy("float64") for c in columns}
    if step is None:
        rel = ns - origin
    else:
        rel, values = _resample(ns - origin, starts, sizes, values, round(step * 1e9))
    if by == "elapsed":
        key = rel / 1e9
    elif step is None:
        key = raw
    else:
        key = pd.to_datetime(rel, unit="ns").to_numpy() if is_time else rel / 1e9
    return pd.DataFrame({KEY: key, **values})


def _resample(
    t: np.ndarray, starts: np.ndarray, sizes: np.ndarray, values: dict[str, np.ndarray], step: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Each run's values interpolated onto the multiples of ``step`` within its time span."""
    grids, out = [], {c: [] for c in values}
    for lo, size in zip(starts, sizes, strict=True):
        times = t[lo : lo + size]
        grid = np.arange(-(-times[0] // step) * step, times[-1] + 1, step, dtype=np.int64)
        grids.append(grid)
        for column, array in values.items():
            v = array[lo : lo + size]
            good = ~np.isnan(v)
            resampled = np.full(len(grid), np.nan)
            if good.any():
                inside = (grid >= times[good][0]) & (grid <= times[good][-1])
                resampled[inside] = np.interp(grid[inside], times[good], v[good])
            out[column].append(resampled)
    if not grids:
        return np.zeros(0, np.int64), {c: np.zeros(0) for c in values}
    return np.concatenate(grids), {c: np.concatenate(parts) for c, parts in out.items()}


def _band_stats(
    keyed: pd.DataFrame, columns: list[str], q: list[float], include: list[str], by: str
) -> pd.DataFrame:
    """Statistics per key of one partition holding every row of its keys."""
    blocks = []
    for column in columns:
        part = keyed[[KEY, column]].dropna()
        keys, values = part[KEY].to_numpy(), part[column].to_numpy("float64")
        order = np.lexsort((values, keys))
        keys, values = keys[order], values[order]
        uniques, first, counts = np.unique(keys, return_index=True, return_counts=True)
        block = pd.DataFrame(index=pd.Index(uniques, name=by))
        if include:
            grouped = pd.Series(values, index=keys).groupby(level=0, sort=True)
            agg = grouped.agg(include) if len(values) else None
            for stat in include:
                empty = pd.Series(dtype="float64")
                block[f"{column}:{stat}"] = (agg[stat] if agg is not None else empty).astype(float)
        for level in q:
            pos = first + (counts - 1) * level
            below = np.floor(pos).astype(np.int64)
            above = np.minimum(below + 1, first + counts - 1)
            fraction = pos - below
            lower, upper = values[below], values[above]
            block[f"{column}:q{level:g}"] = lower + (upper - lower) * fraction
        blocks.append(block)
    result = pd.concat(blocks, axis=1).sort_index()
    result.index.name = by
    return result
