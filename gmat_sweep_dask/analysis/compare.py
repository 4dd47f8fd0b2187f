"""Compare two sweeps row by row: :func:`sweep_diff`, lazily, on the run ids they share.

Rows are matched on ``(run_id, key)``, where the key is the output's own key (``time``
for reports and ephemerides, ``interval_id`` for contacts, ``solver`` and ``iteration``
for solver histories) or nothing for frames with one row per run. The k-th row of a run
at a given key in one sweep is matched with the k-th row at that key in the other (two
rows at one epoch, either side of an impulsive burn, pair up in order). Both frames are
cut at the union of their divisions (run ids), so partitions never split a run and each
output partition is one pandas merge of two partitions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from gmat_sweep_dask.analysis import frames, partitions
from gmat_sweep_dask.analysis.states import param_columns
from gmat_sweep_dask.errors import UsageError

Tolerance = Callable[[str, pd.Series, pd.Series], Any]
_PRESENT = {"both": "both", "left_only": "a", "right_only": "b"}
_ORDER = "__nth"


def sweep_diff(
    a: dd.DataFrame,
    b: dd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    keys: Sequence[str] | None = None,
    atol: float | Mapping[str, float] = 0.0,
    rtol: float | Mapping[str, float] = 0.0,
    tolerance: Tolerance | None = None,
) -> dd.DataFrame:
    """Lazy row-by-row difference of sweep ``b`` against sweep ``a``, on their shared runs.

    ``a`` and ``b`` are frames of :func:`~gmat_sweep_dask.open_sweep` (or derived from
    one: a column selection, :func:`~gmat_sweep_dask.per_run`, ...). ``columns`` defaults
    to the numeric output columns both have. ``keys`` are the columns matching rows
    within a run (default: the output's key columns present in both; ``keys=()`` for
    frames with one row per run that keep a ``time`` column, e.g. ``state_at`` ones).

    The result is indexed by ``run_id`` (only ids present in both sweeps), with the keys,
    then for each column ``c``: ``c:a``, ``c:b``, ``c:diff`` (``b - a``), ``c:rel``
    (``(b - a) / |a|``; infinite or missing where ``a`` is 0) and ``c:within``; then
    ``present`` (``both``, or ``a``/``b`` for a row only one sweep has), ``status_diff``
    (missing where the run's status is the same in both, else e.g. ``ok→failed``) and
    ``within`` (the row is in both, the statuses agree and every column is within).

    ``c:within`` is ``|b - a| <= atol + rtol * |a|`` (per-column mappings allowed; two
    missing values agree), or, with ``tolerance``, whatever
    ``tolerance(column, a_values, b_values)`` returns (a boolean per row); it is False
    for a row only one sweep has.

    Raises:
        UsageError: an unknown or non-numeric column, key, or tolerance.
    """
    chosen = _columns(a, b, columns)
    if keys is None:
        keys = [k for k in frames.source(a).sort_keys[1:] if k in a.columns and k in b.columns]
    missing = [k for k in keys if k not in a.columns or k not in b.columns]
    if missing or set(keys) & set(chosen):
        raise UsageError(f"keys {list(keys)}: each must be a column of both frames, not compared")
    limits = [_per_column(atol, "atol", chosen), _per_column(rtol, "rtol", chosen)]
    if tolerance is not None and not callable(tolerance):
        raise UsageError(f"tolerance={tolerance!r}: expected a callable (column, a, b) -> bools")
    wanted = [*keys, *chosen, partitions.STATUS]
    a, b = a[wanted], b[wanted]
    lo, hi = max(a.divisions[0], b.divisions[0]), min(a.divisions[-1], b.divisions[-1])
    if lo > hi:  # no shared run ids: an empty frame of the right shape
        args = (list(keys), chosen, *limits, tolerance)
        return dd.from_pandas(_diff(a._meta, b._meta, *args), npartitions=1)
    cuts = sorted({lo, hi, *(d for d in (*a.divisions, *b.divisions) if lo < d < hi)})
    a = a.loc[lo:hi].repartition(divisions=cuts, force=True)
    b = b.loc[lo:hi].repartition(divisions=cuts, force=True)
    args = (list(keys), chosen, *limits, tolerance)
    return a.map_partitions(_diff, b, *args, meta=_diff(a._meta, b._meta, *args))


def _columns(a: dd.DataFrame, b: dd.DataFrame, columns: Sequence[str] | None) -> list[str]:
    """The columns to compare: given, or the numeric output columns of both frames."""
    skip = {partitions.STATUS, *param_columns(a), *param_columns(b)}
    if columns is None:
        chosen = [c for c in a.columns if c in b.columns and c not in skip and _numeric(a[c].dtype)]
        chosen = [c for c in chosen if _numeric(b[c].dtype) and c not in frames.source(a).sort_keys]
    else:
        chosen = list(dict.fromkeys(columns))
    bad = [
        c
        for c in chosen
        if c not in a.columns
        or c not in b.columns
        or not _numeric(a[c].dtype)
        or not _numeric(b[c].dtype)
    ]
    if bad or not chosen:
        raise UsageError(
            f"sweep_diff compares numeric columns both frames have; {bad or 'none'} "
            f"cannot be compared (a has {list(a.columns)}, b has {list(b.columns)})"
        )
    return chosen


def _numeric(dtype: Any) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _per_column(value: Any, name: str, columns: list[str]) -> dict[str, float]:
    """A tolerance for every column from a number or a mapping (missing columns: 0)."""
    given = value if isinstance(value, Mapping) else dict.fromkeys(columns, value)
    unknown = [c for c in given if c not in columns]
    try:
        result = {c: float(given.get(c, 0.0)) for c in columns}
    except (TypeError, ValueError):
        result = {}
    if unknown or len(result) != len(columns) or any(not v >= 0 for v in result.values()):
        raise UsageError(f"{name}={value!r}: expected a number >= 0 or one per column of {columns}")
    return result


def _diff(
    a: pd.DataFrame,
    b: pd.DataFrame,
    keys: list[str],
    columns: list[str],
    atol: dict[str, float],
    rtol: dict[str, float],
    tolerance: Tolerance | None,
) -> pd.DataFrame:
    """The diff of two partitions covering the same run ids."""
    shared = a.index.unique().intersection(b.index.unique())
    a, b = a[a.index.isin(shared)], b[b.index.isin(shared)]
    status = {"a": _run_status(a), "b": _run_status(b)}
    on = ["run_id", *keys, _ORDER]
    left, right = _numbered(a, keys, columns), _numbered(b, keys, columns)
    merged = left.merge(right, on=on, how="outer", suffixes=(":a", ":b"), indicator="present")
    merged = merged.sort_values(on, kind="stable", na_position="first", ignore_index=True)
    result = merged[["run_id", *keys]].copy()
    present = merged["present"].astype(str).map(_PRESENT)
    both = (present == "both").to_numpy(bool)
    everything = both.copy()
    for column in columns:
        x = merged[f"{column}:a"].to_numpy("float64", na_value=np.nan)
        y = merged[f"{column}:b"].to_numpy("float64", na_value=np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = (y - x) / np.abs(x)
            if tolerance is None:
                close = np.abs(y - x) <= atol[column] + rtol[column] * np.abs(x)
            else:
                verdict = tolerance(column, merged[f"{column}:a"], merged[f"{column}:b"])
                close = np.asarray(verdict, dtype=bool).reshape(len(merged))
        close = both & (close | (np.isnan(x) & np.isnan(y)))
        result[f"{column}:a"], result[f"{column}:b"] = x, y
        result[f"{column}:diff"], result[f"{column}:rel"] = y - x, rel
        result[f"{column}:within"] = close
        everything &= close
    result["present"] = present.astype("string")
    ids = merged["run_id"]
    sa, sb = ids.map(status["a"]).astype("string"), ids.map(status["b"]).astype("string")
    result["status_diff"] = (sa + "→" + sb).where(sa != sb).astype("string")
    result["within"] = everything & (sa == sb).to_numpy(bool)
    return result.set_index("run_id")


def _run_status(frame: pd.DataFrame) -> pd.Series:
    return frame[partitions.STATUS].groupby(level=0, sort=False).first()


def _numbered(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    """The rows with ``run_id`` as a column and their order among equal keys of a run."""
    rows = frame[[*keys, *columns]].reset_index()
    rows = rows.rename(columns={rows.columns[0]: "run_id"})
    rows[_ORDER] = rows.groupby(["run_id", *keys], dropna=False).cumcount()
    return rows
