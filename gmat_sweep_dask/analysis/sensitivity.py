"""Sensitivity indices of a per-run metric from a Sobol or Morris sweep (needs SALib).

:func:`sensitivity` reads the metric of every run lazily (one value per run reaches the
client), checks that the design is complete, and hands the values in run order to
``SALib.analyze.sobol`` or ``SALib.analyze.morris`` (with the design's own unit-hypercube
points for Morris). The design comes from the sweep the frame reads, so nothing has to be
restated. SALib is imported when called: ``pip install 'gmat-sweep-dask[sensitivity]'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from gmat_sweep_dask.analysis import frames, partitions
from gmat_sweep_dask.analysis.statistics import per_run
from gmat_sweep_dask.design import Morris, Sobol
from gmat_sweep_dask.errors import UsageError
from gmat_sweep_dask.store import manifest as mf


def sensitivity(
    source: dd.DataFrame | str | Path,
    metric: str,
    *,
    conf_level: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
    drop_failed: bool = False,
    pairs: bool = False,
) -> pd.DataFrame:
    """Sobol or Morris sensitivity indices of ``metric``, one row per swept field, ranked.

    ``source`` is a Sobol or Morris sweep: its directory, its frame, or a frame derived
    from it that has one row per run (e.g. :func:`~gmat_sweep_dask.per_run`, or such a
    frame with a column you computed). ``metric`` names a column of that frame, or
    ``<column>:<how>`` of a sweep frame (reduced per run as ``per_run`` does, e.g.
    ``Sat.Earth.Altitude:min``).

    Sobol: columns ``S1`` and ``ST`` (first-order and total indices) with ``S1_conf`` and
    ``ST_conf``, the half-widths of their bootstrap confidence intervals at
    ``conf_level`` (``resamples`` resamples, ``seed``), ranked by ``ST``; with
    ``pairs=True`` (a design with second order) one row per pair of fields instead:
    ``field``, ``other``, ``S2``, ``S2_conf``. Morris: ``mu``, ``mu_star``,
    ``mu_star_conf`` and ``sigma`` of the elementary effects (per unit of the design's
    grid, see :class:`~gmat_sweep_dask.design.Morris`), ranked by ``mu_star``.
    ``attrs`` holds ``method``, ``metric``, ``runs`` used, ``dropped`` blocks and
    ``conf_level``.

    Every run of the design is needed. A run that failed, was never recorded or has no
    metric value raises a UsageError naming it, unless ``drop_failed=True``: then each
    base sample (Sobol) or trajectory (Morris) holding such a run is left out whole, which
    keeps the estimators valid with fewer samples.

    Raises:
        UsageError: not a Sobol or Morris sweep, an unknown metric, incomplete runs, or
            bad options.
        ImportError: SALib is not installed.
    """
    if not 0 < conf_level < 1 or isinstance(resamples, bool) or resamples < 1:
        raise UsageError(f"conf_level={conf_level!r} must be in (0, 1), resamples >= 1")
    frame = frames.open_sweep(source) if isinstance(source, str | Path) else source
    design = frames.source(frame).design
    if not isinstance(design, Sobol | Morris):
        raise UsageError(
            f"sensitivity needs a Sobol or Morris sweep; this one is a {design.kind} sweep "
            "(run one with sobol() / morris(), or gmat-sweep-dask sobol / morris)"
        )
    if pairs and not (isinstance(design, Sobol) and design.second_order):
        raise UsageError("pairs=True needs a Sobol design with second_order=True")
    values = _metric(frame, metric).compute()
    y, kept, dropped = _complete(values, design, metric, drop_failed)
    problem = {"num_vars": len(design.fields), "names": list(design.fields)}
    problem["bounds"] = [[0.0, 1.0]] * len(design.fields)
    analyze = _salib(design)
    # a SeedSequence: SALib's Sobol analysis ignores a falsy seed such as 0
    rng = np.random.SeedSequence(seed)
    options = {"num_resamples": resamples, "conf_level": conf_level, "seed": rng}
    if isinstance(design, Sobol):
        found = analyze(problem, y, calc_second_order=design.second_order, **options)
        table = _sobol_pairs(found, design.fields) if pairs else _sobol_table(found, design)
    else:
        x = np.concatenate([design.unit(b * design.size, (b + 1) * design.size) for b in kept])
        found = analyze(problem, x, y, num_levels=design.levels, **options)
        table = pd.DataFrame(
            {k: np.asarray(found[k], float) for k in ("mu", "mu_star", "mu_star_conf", "sigma")},
            index=pd.Index(design.fields, name="field"),
        ).sort_values("mu_star", ascending=False, kind="stable")
    table.attrs = {
        "method": design.kind,
        "metric": metric,
        "runs": len(y),
        "dropped": dropped,
        "conf_level": conf_level,
    }
    return table


def _metric(frame: dd.DataFrame, metric: str) -> dd.DataFrame:
    """``status`` and the metric, one row per run."""
    if metric not in frame.columns:
        column, _, how = metric.rpartition(":")
        if not column or column not in frame.columns:
            raise UsageError(
                f"no metric {metric!r}: name a column of this frame, or '<column>:<how>' "
                f"of a sweep frame (columns: {list(frame.columns)})"
            )
        frame = per_run(frame, [column], (how,))
    if partitions.STATUS not in frame.columns:
        raise UsageError("this frame has no status column; give a sweep frame or per_run()")
    return frame[[partitions.STATUS, metric]]


def _complete(
    values: pd.DataFrame, design: Sobol | Morris, metric: str, drop_failed: bool
) -> tuple[np.ndarray, list[int], int]:
    """The metric in run order over the complete blocks, the blocks kept, and how many
    blocks were dropped; a UsageError names the runs that make it incomplete."""
    if not values.index.is_unique:
        raise UsageError(f"{metric!r}: the frame has several rows per run; reduce it per run")
    everything = pd.RangeIndex(design.n_runs, name="run_id")
    table = values.reindex(everything)
    y = pd.to_numeric(table[metric], errors="coerce").to_numpy("float64", na_value=np.nan)
    good = (table[partitions.STATUS] == mf.OK).to_numpy(bool, na_value=False) & np.isfinite(y)
    blocks = good.reshape(design.blocks, design.size).all(axis=1)
    bad = np.flatnonzero(~good)
    unit = "base sample" if isinstance(design, Sobol) else "trajectory"
    if len(bad) and not drop_failed:
        shown = ", ".join(str(i) for i in bad[:10]) + (" ..." if len(bad) > 10 else "")
        raise UsageError(
            f"{len(bad)} run(s) of {design.n_runs} have no {metric!r} (failed, missing or "
            f"no value): {shown}; resume the sweep, or pass drop_failed=True to leave out "
            f"the {int((~blocks).sum())} {unit}(s) holding them"
        )
    kept = [int(b) for b in np.flatnonzero(blocks)]
    if len(kept) < 2:
        raise UsageError(f"{metric!r}: fewer than two complete {unit}s to analyse")
    y = y.reshape(design.blocks, design.size)[kept].ravel()
    return y, kept, design.blocks - len(kept)


def _salib(design: Sobol | Morris) -> Any:
    try:
        if isinstance(design, Sobol):
            from SALib.analyze.sobol import analyze
        else:
            from SALib.analyze.morris import analyze
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "sensitivity analysis needs SALib: pip install 'gmat-sweep-dask[sensitivity]'"
        ) from exc
    return analyze


def _sobol_table(found: Any, design: Sobol) -> pd.DataFrame:
    table = pd.DataFrame(
        {k: np.asarray(found[k], float) for k in ("S1", "S1_conf", "ST", "ST_conf")},
        index=pd.Index(design.fields, name="field"),
    )
    return table.sort_values("ST", ascending=False, kind="stable")


def _sobol_pairs(found: Any, fields: tuple[str, ...]) -> pd.DataFrame:
    rows = [
        (fields[i], fields[j], float(found["S2"][i, j]), float(found["S2_conf"][i, j]))
        for i in range(len(fields))
        for j in range(i + 1, len(fields))
    ]
    return pd.DataFrame(rows, columns=["field", "other", "S2", "S2_conf"])
