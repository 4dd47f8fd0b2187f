"""Plots of sweep summaries (the ``[plot]`` extra: ``pip install 'gmat-sweep-dask[plot]'``).

matplotlib is imported when a function is called, not with the package. Both functions take
lazy frames and compute only the columns they draw; both return the matplotlib ``Axes``.
Axis labels carry units where the GMAT parameter name makes them known (km, km/s, s, deg).
"""

from __future__ import annotations

from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from gmat_sweep_dask.analysis import frames, partitions
from gmat_sweep_dask.analysis.statistics import per_run
from gmat_sweep_dask.errors import UsageError
from gmat_sweep_dask.store import manifest as mf

_UNITS = {
    "km": {"X", "Y", "Z", "RMAG", "SMA", "Altitude", "RadPer", "RadApo", "BdotT", "BdotR"},
    "km/s": {"VX", "VY", "VZ", "VMAG", "VelPeriapsis", "VelApoapsis", "C3Energy"},
    "s": {"ElapsedSecs", "elapsed", "Duration", "Period"},
    "deg": {"INC", "RAAN", "AOP", "TA", "MA", "EA", "Latitude", "Longitude", "RA", "DEC"},
    "kg": {"DryMass", "TotalMass", "FuelMass"},
    "days": {"ElapsedDays"},
}


def unit(column: str) -> str | None:
    """Unit of a column from its GMAT parameter name (``Sat.Earth.SMA:last`` gives km)."""
    name = column.removeprefix(partitions.PARAM_PREFIX).split(":", 1)[0]
    parts = name.split(".")
    leaf = parts[-2] if parts[-1] == "Value" and len(parts) > 1 else parts[-1]
    return next((u for u, leaves in _UNITS.items() if leaf in leaves), None)


def label(column: str) -> str:
    """``column`` with its unit in brackets when known."""
    known = unit(column)
    return f"{column} [{known}]" if known else column


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'gmat-sweep-dask[plot]'") from exc
    return plt


def band_plot(
    bands: dd.DataFrame | pd.DataFrame,
    column: str,
    ax: Any = None,
    *,
    time_scale: str | None = None,
) -> Any:
    """Median line and shaded quantile bands of ``column`` from :func:`~.bands.bands`.

    The outermost quantile pair is shaded lightly, inner pairs darker; the middle quantile
    (or the mean when there are only pairs) is drawn as a line. Only the ``column:*``
    statistics are computed when ``bands`` is lazy. The time axis names its scale (UTC,
    A1, ...): read from lazy ``bands``, or given as ``time_scale`` for computed ones.

    Raises:
        UsageError: ``bands`` holds no quantiles of ``column``.
    """
    plt = _pyplot()
    names = [c for c in bands.columns if c.startswith(f"{column}:q")]
    if not names:
        raise UsageError(f"no quantiles of {column!r} in these bands; pass it to bands()")
    levels = sorted(names, key=lambda c: float(c.rsplit(":q", 1)[1]))
    mean = f"{column}:mean"
    wanted = levels + ([mean] if mean in bands.columns else [])
    data = bands[wanted]
    if isinstance(data, dd.DataFrame):
        data = data.compute()
    ax = ax if ax is not None else plt.subplots(figsize=(8, 4.5))[1]
    x = data.index.to_numpy()
    pairs = len(levels) // 2
    for i in range(pairs):
        low, high = levels[i], levels[-1 - i]
        ax.fill_between(
            x,
            data[low],
            data[high],
            alpha=0.2 + 0.25 * i / max(pairs, 1),
            color="tab:blue",
            linewidth=0,
            label=f"{low.rsplit(':', 1)[1]}-{high.rsplit(':', 1)[1]}",
        )
    centre = levels[pairs] if len(levels) % 2 else (mean if mean in data else None)
    if centre is not None:
        ax.plot(x, data[centre], color="tab:blue", linewidth=1.5, label=centre.rsplit(":", 1)[1])
    by = data.index.name or "time"
    scale = (time_scale or _time_scale(bands)) if by == "time" else None
    ax.set_xlabel("elapsed [s]" if by == "elapsed" else f"time ({scale})" if scale else by)
    ax.set_ylabel(label(column))
    ax.legend(loc="best", fontsize="small")
    ax.grid(True, alpha=0.3)
    return ax


def _time_scale(bands: dd.DataFrame | pd.DataFrame) -> str | None:
    if not isinstance(bands, dd.DataFrame):
        return None
    try:
        return frames.source(bands).file_meta.get("time_scale")
    except UsageError:
        return None


def param_plot(
    frame: dd.DataFrame | pd.DataFrame,
    x: str,
    y: str | None = None,
    *,
    metric: str,
    ax: Any = None,
) -> Any:
    """A run metric against one swept parameter (scatter) or two (heatmap).

    ``frame`` is a :func:`summaries.per_run` frame holding ``metric`` (e.g.
    ``Sat.Earth.Altitude:min``), or a sweep frame: then a ``<column>:<how>`` metric is
    reduced per run here, reading only that column. Ok runs with a value are drawn. With
    ``y``, runs on a full ``x`` by ``y`` grid become a heatmap (mean per cell), anything
    else a scatter coloured by the metric.

    Raises:
        UsageError: ``x``, ``y`` or ``metric`` is not available.
    """
    plt = _pyplot()
    axes = [x] + ([y] if y else [])
    missing = [c for c in axes if c not in frame.columns]
    if missing:
        raise UsageError(f"no parameter column(s) {missing} in this frame")
    table = _per_run_table(frame, axes, metric)
    ok = table[(table[partitions.STATUS] == mf.OK) & table[metric].notna()]
    ax = ax if ax is not None else plt.subplots(figsize=(6.5, 5))[1]
    if y is None:
        ax.plot(ok[x], ok[metric], "o", markersize=4)
        ax.set_ylabel(label(metric))
    else:
        grid = ok.pivot_table(index=y, columns=x, values=metric, aggfunc="mean")
        if grid.size > 1 and grid.notna().all().all() and grid.size == len(ok):
            image = ax.pcolormesh(_edges(grid.columns), _edges(grid.index), grid.to_numpy())
        else:
            image = ax.scatter(ok[x], ok[y], c=ok[metric], s=20)
        ax.figure.colorbar(image, ax=ax, label=label(metric))
        ax.set_ylabel(label(y))
    ax.set_xlabel(label(x))
    shown = len(ok)
    ax.set_title(f"{metric}: {shown} of {len(table)} runs" if shown < len(table) else metric)
    return ax


def _per_run_table(frame: dd.DataFrame | pd.DataFrame, axes: list[str], metric: str) -> Any:
    columns = list(dict.fromkeys([*axes, metric, partitions.STATUS]))
    if metric not in frame.columns:
        column, _, how = metric.rpartition(":")
        if not column or not isinstance(frame, dd.DataFrame) or column not in frame.columns:
            raise UsageError(f"no metric {metric!r}: name a column as '<column>:<how>'")
        frame = per_run(frame, [column], (how,))
    table = frame[columns]
    return table.compute() if isinstance(table, dd.DataFrame) else table


def _edges(centres: pd.Index) -> np.ndarray:
    """Cell edges around sorted cell centres (midpoints; the outer cells mirrored)."""
    c = centres.to_numpy(dtype="float64")
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    middle = (c[1:] + c[:-1]) / 2
    return np.concatenate([[2 * c[0] - middle[0]], middle, [2 * c[-1] - middle[-1]]])
