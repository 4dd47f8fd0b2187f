"""Plots of a dispersion study: corner plot, heatmap over two grid axes, MC convergence.

Same conventions as :mod:`~gmat_sweep_dask.analysis.plotting` (the ``[plot]`` extra,
matplotlib imported when called, units in labels): each function takes lazy frames and
computes one row per run of only the columns it draws. A column is a column of the frame,
or ``<column>:<how>`` of a sweep frame, reduced per run as
:func:`~gmat_sweep_dask.per_run` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from gmat_sweep_dask.analysis import partitions
from gmat_sweep_dask.analysis.plotting import _edges, _pyplot, label
from gmat_sweep_dask.analysis.statistics import per_run
from gmat_sweep_dask.errors import UsageError
from gmat_sweep_dask.store import manifest as mf

#: Above this many runs a corner plot draws hexagonal bins instead of points.
HEXBIN_ABOVE = 2000


def runs_of(source: dd.DataFrame | pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """One computed row per run: ``status`` and ``columns`` (``<column>:<how>`` reduced).

    Raises:
        UsageError: a column neither in the frame nor ``<column>:<how>`` of it.
    """
    wanted = list(dict.fromkeys(columns))
    missing = [c for c in wanted if c not in source.columns]
    if missing:
        split = [c.rpartition(":") for c in missing]
        known = set(source.columns)
        unknown = [c for c, (base, _, _) in zip(missing, split, strict=True) if base not in known]
        if unknown or not isinstance(source, dd.DataFrame):
            raise UsageError(
                f"no column(s) {unknown or missing}: name columns of the frame, or "
                f"'<column>:<how>' of a sweep frame; it has {list(source.columns)}"
            )
        bases = list(dict.fromkeys(base for base, _, _ in split))
        hows = list(dict.fromkeys(how for _, _, how in split))
        source = per_run(source, bases, hows)
    table = source[list(dict.fromkeys([partitions.STATUS, *wanted]))]
    return table.compute() if isinstance(table, dd.DataFrame) else table


def corner_plot(
    source: dd.DataFrame | pd.DataFrame,
    columns: Sequence[str],
    *,
    kind: str = "auto",
    bins: int = 30,
    gridsize: int = 30,
    fig: Any = None,
) -> Any:
    """Pairwise scatter (or hexbin) of ``columns`` across ok runs, histograms on the diagonal.

    ``columns`` may mix swept parameters and per-run metrics (``Sat.SMA``,
    ``Sat.Earth.Altitude:min``). Ok runs with every value known are drawn.
    ``kind="auto"`` draws points up to :data:`HEXBIN_ABOVE` runs and hexagonal bins
    above; ``"scatter"`` or ``"hexbin"`` force one. Returns the matplotlib Figure, whose
    lower triangle holds the pairs (row ``i``, column ``j``: ``columns[j]`` across,
    ``columns[i]`` up).

    Raises:
        UsageError: fewer than two columns, an unknown one or kind, or no run to draw.
    """
    chosen = list(dict.fromkeys(columns))
    if len(chosen) < 2 or kind not in ("auto", "scatter", "hexbin"):
        raise UsageError(
            f"corner_plot: give two or more columns and kind 'auto', 'scatter' or 'hexbin'; "
            f"got {chosen}, kind={kind!r}"
        )
    table = runs_of(source, chosen)
    data = table[table[partitions.STATUS] == mf.OK][chosen].astype(float).dropna()
    if data.empty:
        raise UsageError(f"corner_plot: no ok run has a value of every one of {chosen}")
    hexbin = kind == "hexbin" or (kind == "auto" and len(data) > HEXBIN_ABOVE)
    plt = _pyplot()
    k = len(chosen)
    fig = fig if fig is not None else plt.figure(figsize=(2.4 * k + 1, 2.4 * k + 1))
    axes = fig.subplots(k, k, squeeze=False)
    for i, row in enumerate(chosen):
        for j, across in enumerate(chosen):
            ax = axes[i, j]
            if j > i:
                ax.remove()
                continue
            if i == j:
                ax.hist(data[row], bins=bins, color="tab:blue", alpha=0.8)
                ax.set_yticks([])
            elif hexbin:
                ax.hexbin(data[across], data[row], gridsize=gridsize, mincnt=1, cmap="viridis")
            else:
                ax.scatter(data[across], data[row], s=5, alpha=0.6, linewidths=0)
            if i == k - 1:
                ax.set_xlabel(label(across))
            else:
                ax.tick_params(labelbottom=False)
            if j == 0 and i > 0:
                ax.set_ylabel(label(row))
    shown = f"{len(data)} of {len(table)} runs" if len(data) < len(table) else f"{len(data)} runs"
    fig.suptitle(f"{shown}" + (" (hexagonal bins: runs per bin)" if hexbin else ""))
    return fig


def heatmap(
    source: dd.DataFrame | pd.DataFrame,
    x: str,
    y: str,
    metric: str,
    *,
    ax: Any = None,
) -> Any:
    """A per-run ``metric`` over two grid axes, one cell per ``(x, y)``; non-ok cells marked.

    A cell's colour is the mean metric of its ok runs (one run per cell on a two-axis
    grid). A cell holding a run that is not ok (failed, or never recorded when the frame
    includes them) is drawn grey with a cross instead, and counted in the legend; a cell
    without runs stays empty. Evenly spaced numeric axes are drawn to scale, others one
    cell per value. Returns the matplotlib Axes.

    Raises:
        UsageError: an unknown column or metric.
    """
    table = runs_of(source, [x, y, metric])
    ok = table[partitions.STATUS] == mf.OK
    xs, ys = np.sort(table[x].unique()), np.sort(table[y].unique())
    value = table[ok].pivot_table(index=y, columns=x, values=metric, aggfunc="mean")
    value = value.reindex(index=ys, columns=xs)
    failed = table[~ok].groupby([y, x]).size().unstack().reindex(index=ys, columns=xs).notna()
    values = np.ma.masked_invalid(value.to_numpy(float))
    values.mask |= failed.to_numpy(bool)
    plt = _pyplot()
    ax = ax if ax is not None else plt.subplots(figsize=(7, 5.5))[1]
    ex, ey = _cells(ax, "x", xs), _cells(ax, "y", ys)
    image = ax.pcolormesh(ex, ey, values, cmap="viridis")
    ax.figure.colorbar(image, ax=ax, label=label(metric))
    rows, cols = np.nonzero(failed.to_numpy(bool))
    if len(rows):
        grey = np.ma.masked_where(~failed.to_numpy(bool), np.ones(failed.shape))
        ax.pcolormesh(ex, ey, grey, cmap="Greys", vmin=0, vmax=4)
        cx, cy = (ex[cols] + ex[cols + 1]) / 2, (ey[rows] + ey[rows + 1]) / 2
        ax.scatter(cx, cy, marker="x", color="black", label=f"not ok ({len(rows)} cells)")
        ax.legend(loc="upper right", fontsize="small")
    ax.set_xlabel(label(x))
    ax.set_ylabel(label(y))
    ax.set_title(metric)
    return ax


def _cells(ax: Any, axis: str, values: np.ndarray) -> np.ndarray:
    """Cell edges along one axis: around the values when they are evenly spaced numbers,
    else one unit cell per value, ticked with the values."""
    if pd.api.types.is_numeric_dtype(values.dtype) and len(values) > 1:
        steps = np.diff(values.astype(float))
        if np.allclose(steps, steps[0]):
            return _edges(pd.Index(values))
    elif pd.api.types.is_numeric_dtype(values.dtype):
        return _edges(pd.Index(values))
    ticks = ax.set_xticks if axis == "x" else ax.set_yticks
    ticks(range(len(values)), [f"{v:g}" if isinstance(v, float) else str(v) for v in values])
    return np.arange(len(values) + 1) - 0.5


def convergence_plot(
    convergence: dd.DataFrame | pd.DataFrame, ax: Any = None, *, metric: str | None = None
) -> Any:
    """The running mean of a Monte Carlo metric with a band of ±1 standard error.

    ``convergence`` is the result of :func:`~gmat_sweep_dask.convergence` (lazy or
    computed); the x axis is the number of ok runs so far. The title gives the final
    mean and standard error. Returns the matplotlib Axes.

    Raises:
        UsageError: ``convergence`` lacks ``n``, ``running_mean`` or ``se_mean``.
    """
    needed = ["n", "running_mean", "se_mean"]
    if any(c not in convergence.columns for c in needed):
        raise UsageError(f"convergence_plot: expected the result of convergence() ({needed})")
    data = convergence[needed]
    data = data.compute() if isinstance(data, dd.DataFrame) else data
    plt = _pyplot()
    ax = ax if ax is not None else plt.subplots(figsize=(8, 4.5))[1]
    n, mean, se = (data[c].to_numpy(float) for c in needed)
    ax.fill_between(n, mean - se, mean + se, color="tab:blue", alpha=0.25, label="±1 SE")
    ax.plot(n, mean, color="tab:blue", linewidth=1.5, label="running mean")
    ax.set_xlabel("runs")
    ax.set_ylabel(label(metric) if metric else "running mean")
    if len(n):
        ax.set_title(
            f"{metric or 'mean'}: {mean[-1]:.6g} ± {se[-1]:.2g} (1 SE) after {int(n[-1])} runs"
        )
    ax.legend(loc="best", fontsize="small")
    ax.grid(True, alpha=0.3)
    return ax
