"""Dispersion statistics across runs at one epoch or event: mean, covariance, percentiles,
and the n-sigma ellipse (2-D) or ellipsoid (3-D and more) of the covariance.

:func:`dispersion` runs one Dask computation over the sweep frame: each partition (whole
runs) is reduced to one state per run (:func:`~.states.state_at`); the mean and the
covariance are Dask tree reductions over those states (per-partition sums and
centred cross-products, combined pairwise), and the exact percentiles gather only the
chosen columns' per-run values. Memory is therefore one partition per worker thread plus
8 bytes per run and column on the client, however many rows the sweep has.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from gmat_sweep_dask.analysis import partitions
from gmat_sweep_dask.analysis.states import state_at
from gmat_sweep_dask.errors import UsageError
from gmat_sweep_dask.store import manifest as mf


@dataclass(frozen=True)
class Ellipsoid:
    """The ``n_sigma`` ellipse (2 columns) or ellipsoid (3 or more) of a covariance.

    ``semi_axes`` are ``n_sigma * sqrt(eigenvalue)``, largest first; column ``i`` of
    ``axes`` is the unit direction of semi-axis ``i`` (in the columns' coordinates, sign
    chosen so its largest component is positive). ``angle_deg`` (2-D only) is the
    direction of the major axis measured from the first column's axis towards the
    second, in (-90, 90]. ``probability`` is the mass a normal distribution with this
    covariance has inside (chi-squared with ``len(columns)`` degrees of freedom).
    """

    columns: tuple[str, ...]
    center: np.ndarray
    semi_axes: np.ndarray
    axes: np.ndarray
    n_sigma: float
    probability: float
    angle_deg: float | None
    covariance: np.ndarray = field(repr=False)

    def contains(self, points: Any) -> np.ndarray:
        """Whether each row of ``points`` (one column per axis) lies inside."""
        offsets = np.asarray(points, dtype=float).reshape(-1, len(self.columns)) - self.center
        solved = np.linalg.solve(self.covariance, offsets.T).T
        return np.einsum("ij,ij->i", offsets, solved) <= self.n_sigma**2


@dataclass(frozen=True)
class Dispersion:
    """Statistics of ``columns`` across the runs that have a value of each at ``at``.

    ``runs`` is the number of runs in the frame, ``used`` those with every column known
    at ``at``; ``excluded`` counts the others: ``failed`` (status not ok) and ``no_value``
    (ok, but no rows spanning ``at`` or a missing value). ``cov`` has ddof=1, as
    ``numpy.cov``; ``percentiles`` is indexed by ``q``, linear between order statistics
    (numpy's default).
    """

    at: str
    columns: tuple[str, ...]
    runs: int
    used: int
    excluded: dict[str, int]
    mean: pd.Series
    cov: pd.DataFrame
    percentiles: pd.DataFrame

    @property
    def std(self) -> pd.Series:
        """Standard deviation of each column (ddof=1)."""
        return pd.Series(np.sqrt(np.diag(self.cov.to_numpy())), index=self.cov.index)

    def ellipsoid(self, columns: Sequence[str] | None = None, n_sigma: float = 3.0) -> Ellipsoid:
        """The ``n_sigma`` ellipse/ellipsoid of ``columns`` (default: all, at least two).

        Raises:
            UsageError: fewer than two columns, an unknown one, or a singular covariance.
        """
        chosen = tuple(columns) if columns is not None else self.columns
        unknown = [c for c in chosen if c not in self.columns]
        if unknown or len(chosen) < 2 or not n_sigma > 0:
            raise UsageError(
                f"ellipsoid: need two or more of {list(self.columns)} and n_sigma > 0, "
                f"got {list(chosen)} and {n_sigma!r}"
            )
        cov = self.cov.loc[list(chosen), list(chosen)].to_numpy()
        if not np.isfinite(cov).all():
            raise UsageError(f"ellipsoid: the covariance is unknown ({self.used} runs used)")
        values, vectors = np.linalg.eigh(cov)
        if values[0] <= 1e-12 * max(values[-1], np.finfo(float).tiny):
            raise UsageError(
                f"ellipsoid: the covariance of {list(chosen)} is singular (the runs lie on a "
                "line or plane: a column is a combination of the others)"
            )
        order = np.argsort(values)[::-1]
        values, vectors = values[order], vectors[:, order]
        flip = np.sign(vectors[np.argmax(np.abs(vectors), axis=0), range(len(chosen))])
        vectors = vectors * flip
        from scipy import stats

        angle = None
        if len(chosen) == 2:
            angle = math.degrees(math.atan2(vectors[1, 0], vectors[0, 0]))
            angle = angle - 180.0 if angle > 90.0 else angle + 180.0 if angle <= -90.0 else angle
        return Ellipsoid(
            columns=chosen,
            center=self.mean[list(chosen)].to_numpy(),
            semi_axes=n_sigma * np.sqrt(values),
            axes=vectors,
            n_sigma=float(n_sigma),
            probability=float(stats.chi2.cdf(n_sigma**2, len(chosen))),
            angle_deg=angle,
            covariance=cov,
        )

    def summary(self) -> pd.DataFrame:
        """One row per column: mean, std and the percentiles (``q0.05``, ...)."""
        table = pd.DataFrame({"mean": self.mean, "std": self.std})
        for q, row in self.percentiles.iterrows():
            table[f"q{q:g}"] = row
        return table

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>Dispersion at {html.escape(self.at)}</b>: {self.used} of {self.runs} runs"
            + "".join(f", {v} {k.replace('_', ' ')}" for k, v in self.excluded.items() if v)
            + "</p>"
        )
        return head + self.summary().to_html(float_format=lambda v: f"{v:.6g}")


def dispersion(
    frame: dd.DataFrame,
    columns: Sequence[str],
    at: Any = "last",
    *,
    q: Sequence[float] = (0.05, 0.5, 0.95),
) -> Dispersion:
    """Mean, covariance and percentiles of ``columns`` across ok runs at ``at``.

    ``frame`` is a sweep frame and ``at`` says where in each run (see
    :func:`~gmat_sweep_dask.state_at`: ``"last"``, ``"first"``, an epoch, a Timedelta
    after each run's start, or a Series of per-run event times); or ``frame`` already has
    one row per run (e.g. :func:`~gmat_sweep_dask.per_run`'s result) and ``at=None``.
    A run counts when it is ok and every column has a value there (listwise, so the
    covariance is a proper one). Runs one Dask computation; nothing but the per-run
    values of ``columns`` reaches the client.

    Raises:
        UsageError: an unknown column or ``at``, ``q`` outside (0, 1), or no columns.
    """
    chosen = list(dict.fromkeys(columns))
    if not chosen or any(not 0 < v < 1 for v in q):
        raise UsageError(f"dispersion: give columns and q in (0, 1); got {chosen}, q={list(q)}")
    if at is None:
        missing = [c for c in [*chosen, partitions.STATUS] if c not in frame.columns]
        if missing:
            raise UsageError(f"no column(s) {missing} in this frame; it has {list(frame.columns)}")
        states = frame[[partitions.STATUS, *chosen]]
    else:
        states = state_at(frame, chosen, at)[[partitions.STATUS, *chosen]]
    meta = _moments(states._meta, chosen)
    ok = states[states[partitions.STATUS] == mf.OK][chosen].astype("float64").dropna()
    parts, table = dask.compute(
        states.map_partitions(_moments, chosen, meta=meta),
        ok if q else ok.head(0, compute=False),
    )
    runs, good, used, mean, m2 = _combine(parts, len(chosen))
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = m2 / (used - 1) if used > 1 else np.full_like(m2, np.nan)
    levels = np.asarray(list(q), dtype=float)
    quantiles = (
        np.percentile(table.to_numpy(), levels * 100, axis=0)
        if used and len(levels)
        else np.full((len(levels), len(chosen)), np.nan)
    )
    return Dispersion(
        at="each run's own event" if isinstance(at, pd.Series | dd.Series) else repr(at),
        columns=tuple(chosen),
        runs=runs,
        used=used,
        excluded={"failed": runs - good, "no_value": good - used},
        mean=pd.Series(mean if used else np.nan, index=chosen, dtype=float),
        cov=pd.DataFrame(cov, index=chosen, columns=chosen),
        percentiles=pd.DataFrame(quantiles, index=pd.Index(levels, name="q"), columns=chosen),
    )


def _moments(states: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row for a partition: runs, ok runs, and the count, mean and centred
    cross-products (``M2``, flattened) of the ok runs that have every column."""
    ok = (states[partitions.STATUS] == mf.OK).to_numpy(bool)
    x = states[columns].to_numpy("float64", na_value=np.nan)[ok]
    x = x[~np.isnan(x).any(axis=1)]
    mean = x.mean(axis=0) if len(x) else np.zeros(len(columns))
    centred = x - mean
    row = [len(states), int(ok.sum()), len(x), *mean, *(centred.T @ centred).ravel()]
    names = ["runs", "ok", "n"] + [f"mean{i}" for i in range(len(columns))]
    names += [f"m2_{i}" for i in range(len(columns) ** 2)]
    return pd.DataFrame([row] if len(states) else [], columns=names, dtype="float64")


def _combine(parts: pd.DataFrame, k: int) -> tuple[int, int, int, np.ndarray, np.ndarray]:
    """Runs, ok runs, used runs, mean and M2 of all partitions (Chan et al.'s pairwise
    update, exact in any order and stable for large means with small spreads)."""
    n, mean, m2 = 0, np.zeros(k), np.zeros((k, k))
    for row in parts.to_numpy():
        count, part_mean, part_m2 = row[2], row[3 : 3 + k], row[3 + k :].reshape(k, k)
        if count == 0:
            continue
        total = n + count
        delta = part_mean - mean
        mean = mean + delta * count / total
        m2 = m2 + part_m2 + np.outer(delta, delta) * n * count / total
        n = total
    runs, good = parts[["runs", "ok"]].sum() if len(parts) else (0, 0)
    return int(runs), int(good), int(n), mean, m2
