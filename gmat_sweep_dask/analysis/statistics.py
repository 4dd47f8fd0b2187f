"""Lazy summaries of sweep frames: per-run reductions, convergence, the runs table.

Every function taking a frame takes the lazy frame of :func:`gmat_sweep_dask.open_sweep`
(or one derived from it by projection, ``loc`` or filtering) and returns a lazy
``dask.dataframe``: nothing is read until ``compute()``, and then only the columns used.
Failed runs and ok runs without rows are kept by :func:`per_run` (with their status and
missing values) and left out of :func:`convergence` (and of ``bands.bands``), which use ok
rows. Result columns are named ``<column>:<statistic>``, e.g. ``Sat.X:last``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from gmat_sweep_dask.analysis import frames, partitions
from gmat_sweep_dask.design import design_from_header
from gmat_sweep_dask.errors import UsageError
from gmat_sweep_dask.store import layout
from gmat_sweep_dask.store import manifest as mf

PER_RUN = ("first", "last", "min", "max", "mean", "std", "count")


def epoch_info(
    source: dd.DataFrame | dd.Series | str | Path,
    report: str | None = None,
    *,
    kind: str = "report",
) -> dict[str, Any]:
    """Where a frame's epochs come from and in which GMAT time scale they are.

    ``source`` is a frame of :func:`~gmat_sweep_dask.open_sweep` or a sweep directory (then
    ``report``/``kind`` pick the output as for ``open_sweep``). Returns ``time_source`` (the
    output column renamed to ``time``; None when there is no ``time`` column or no epoch
    column was found), ``time_scale`` (GMAT's scale of ``time``, e.g. ``UTC``, ``A1``,
    ``TAI``; None if unknown or not an epoch) and ``epoch_scales`` (the scale of each other
    epoch column, e.g. a contact's ``Start``/``Stop``). It is read from the Parquet schema
    metadata key ``gmat_sweep_dask``; files that disagree give None.
    """
    if not isinstance(source, dd.DataFrame | dd.Series):
        source = frames.open_sweep(source, report, kind=kind)
    meta = frames.source(source).file_meta
    return {
        "time_source": meta.get("time_source"),
        "time_scale": meta.get("time_scale"),
        "epoch_scales": dict(meta.get("epoch_scales", {})),
    }


def time_scale(
    source: dd.DataFrame | dd.Series | str | Path,
    report: str | None = None,
    *,
    kind: str = "report",
) -> str | None:
    """GMAT time scale of the ``time`` column (see :func:`epoch_info`), e.g. ``"UTC"``."""
    return epoch_info(source, report, kind=kind)["time_scale"]


def per_run(
    frame: dd.DataFrame,
    columns: Sequence[str] | None = None,
    how: Sequence[str] = ("last", "min", "max"),
) -> dd.DataFrame:
    """One row per run: ``status``, the swept parameters, and ``<column>:<how>`` values.

    ``columns`` defaults to every numeric output column. ``how`` takes ``first``, ``last``
    (the final state: the last non-missing value in time order), ``min``, ``max``,
    ``mean``, ``std``, ``count``. A run without rows gives missing values. Partitions never
    split a run, so this is one partition-wise reduction; divisions are kept.

    Raises:
        UsageError: an unknown ``how`` or column.
    """
    reader = frames.source(frame)
    params = [c for c in reader.params.values() if c in frame.columns]
    chosen = list(columns) if columns is not None else _numeric(frame, reader)
    check(frame, chosen, how, PER_RUN)
    projected = frame[list(dict.fromkeys([*chosen, partitions.STATUS, *params]))]
    meta = _reduce_runs(projected._meta, chosen, list(how), params)
    return projected.map_partitions(_reduce_runs, chosen, list(how), params, meta=meta)


def _reduce_runs(
    data: pd.DataFrame, columns: list[str], how: list[str], params: list[str]
) -> pd.DataFrame:
    """One partition's runs reduced: status and parameters of each run, then the stats."""
    grouped = data.groupby(level=0, sort=True)
    result = grouped[[partitions.STATUS, *params]].first()
    for column in columns:
        values = grouped[column].agg(how).astype("float64")
        for stat in how:
            result[f"{column}:{stat}"] = values[stat]
    return result


def convergence(frame: dd.DataFrame, metric: str, *, how: str = "last") -> dd.DataFrame:
    """Running mean of a Monte Carlo metric over ok runs in ``run_id`` order.

    The metric of a run is ``metric`` reduced by ``how`` (see :func:`per_run`; ``last`` is
    the final value). Ok runs without a value are left out. Returns one partition indexed
    by ``run_id`` with ``n`` (runs so far), ``running_mean``, ``running_std`` (ddof=1,
    missing for n=1) and ``se_mean`` (``running_std / sqrt(n)``). Sums are taken about the
    overall mean, so a large mean with a small spread loses no precision.
    """
    runs = per_run(frame, [metric], (how,))
    values = runs[runs[partitions.STATUS] == mf.OK][f"{metric}:{how}"].dropna()
    meta = _running(values._meta)
    return values.repartition(npartitions=1).map_partitions(_running, meta=meta)


def _running(values: pd.Series) -> pd.DataFrame:
    x = values.to_numpy("float64")
    n = np.arange(1, len(x) + 1, dtype=np.int64)
    shifted = x - (x.mean() if len(x) else 0.0)
    s1, s2 = np.cumsum(shifted), np.cumsum(shifted * shifted)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n > 1, (s2 - s1 * s1 / n) / (n - 1), np.nan)
        std = np.sqrt(np.maximum(var, 0.0))
    return pd.DataFrame(
        {
            "n": n,
            "running_mean": s1 / n + (x.mean() if len(x) else 0.0),
            "running_std": std,
            "se_mean": std / np.sqrt(n),
        },
        index=values.index,
    )


def runs_table(out: str | Path) -> pd.DataFrame:
    """One row per run of the sweep in ``out``, read from its manifest (no data files).

    Index ``run_id`` (every run of the design), then the swept parameters, ``status``
    (``ok``, ``failed`` or ``missing`` when never recorded), ``duration_s``, ``attempts``,
    ``worker``, ``error`` (the full error text of a failed run), ``started`` and ``ended``
    (UTC timestamps; NaT where the recorded text is not an ISO 8601 time).
    """
    sweep_dir = Path(out).expanduser()
    fields = ("status", "duration_s", "attempts", "worker", "error", "started", "ended")
    manifest = mf.Manifest.load(sweep_dir / layout.MANIFEST, fields=fields)
    design = design_from_header(manifest.header["design"], sweep_dir.resolve(), manifest.run_count)
    table = design.block(0, manifest.run_count).copy()
    recorded = pd.DataFrame.from_records(
        [{f: manifest.entries[i].get(f) for f in fields} for i in sorted(manifest.entries)],
        index=pd.Index(sorted(manifest.entries), name="run_id"),
        columns=list(fields),
    )
    table = table.join(recorded, how="left")
    table["status"] = table["status"].fillna(partitions.MISSING).astype("string")
    table["attempts"] = table["attempts"].astype("Int64")
    table["duration_s"] = table["duration_s"].astype("float64")
    for column in ("started", "ended"):  # a time that cannot be read is unknown (NaT)
        table[column] = pd.to_datetime(table[column], utc=True, format="ISO8601", errors="coerce")
    for column in ("worker", "error"):
        table[column] = table[column].astype("string")
    table.index.name = "run_id"
    return table


def _numeric(frame: dd.DataFrame, reader: partitions.PartitionReader) -> list[str]:
    skip = {reader.key, partitions.STATUS, *reader.params.values()}
    return [
        c
        for c, t in frame.dtypes.items()
        if c not in skip and pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
    ]


def check(frame: dd.DataFrame, columns: list[str], stats: Sequence[str], known: tuple) -> None:
    """Raise :class:`UsageError` naming any unknown column of ``frame`` or statistic."""
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        raise UsageError(f"no column(s) {unknown} in this frame; it has {list(frame.columns)}")
    bad = [s for s in stats if s not in known]
    if bad:
        raise UsageError(f"unknown statistic(s) {bad}; use {list(known)}")
