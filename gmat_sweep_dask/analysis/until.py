"""When a Monte Carlo sweep has run enough: the confidence half-width of a per-run mean.

:class:`Converged` is the stopping rule of ``monte_carlo(..., until=...)``: the mean of a
per-run scalar (``<column>:<how>`` of the sweep frame, e.g. ``Sat.Earth.Altitude:min``,
see :func:`~gmat_sweep_dask.per_run`) over the ok runs, its Student-t confidence
half-width ``t(confidence, n-1) * s / sqrt(n)`` (``s`` the sample standard deviation,
ddof=1), and a run budget. :meth:`Converged.estimate` computes it lazily on any frame of
the sweep, in one pass; the loop that grows the sweep is in ``execute/until.py``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import dask
import dask.dataframe as dd

from gmat_sweep_dask.analysis import partitions
from gmat_sweep_dask.analysis.statistics import PER_RUN, per_run
from gmat_sweep_dask.errors import SpecError, UsageError
from gmat_sweep_dask.store import manifest as mf


@dataclass(frozen=True)
class Estimate:
    """The mean of ``metric`` over ``runs`` ok runs and its ``confidence`` half-width
    (``inf`` below two runs); ``converged`` when it is at most ``tolerance``."""

    metric: str
    runs: int
    mean: float
    std: float
    half_width: float
    confidence: float
    tolerance: float

    @property
    def converged(self) -> bool:
        return self.half_width <= self.tolerance

    def __str__(self) -> str:
        relation = "<=" if self.converged else ">"
        return (
            f"{self.metric}: mean {self.mean:.6g} ± {self.half_width:.3g} "
            f"({self.confidence:.0%}, {self.runs} ok runs), {relation} {self.tolerance:.3g}"
        )


@dataclass(frozen=True)
class Converged:
    """Run a Monte Carlo sweep in batches until the mean of ``metric`` is known to
    ``± half_width`` at ``confidence``, or the sweep has ``max_runs`` runs.

    ``metric`` is ``<column>:<how>`` (``how`` one of ``first``, ``last``, ``min``,
    ``max``, ``mean``, ``std``, ``count``; a bare column means ``<column>:last``, the
    final value). ``batch`` runs are added at a time (default: the sweep's ``n``); the
    last batch is cut to the budget. Failed runs count towards ``max_runs`` but not
    towards the mean, and ok runs without a value are left out, as in
    :func:`~gmat_sweep_dask.convergence`.

    Raises:
        SpecError: a value out of range, named (before anything runs).
    """

    metric: str
    half_width: float
    max_runs: int
    batch: int | None = None
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric.strip():
            raise SpecError(f"until: metric={self.metric!r}: expected '<column>:<how>'")
        if self.how not in PER_RUN:
            raise SpecError(
                f"until: metric {self.metric!r}: unknown statistic {self.how!r}; "
                f"use one of {', '.join(PER_RUN)}"
            )
        if not _positive(self.half_width, float):
            raise SpecError(
                f"until: half_width={self.half_width!r}: expected a positive finite number"
            )
        for name in ("max_runs", "batch"):
            value = getattr(self, name)
            if not (value is None and name == "batch") and not _positive(value, int):
                raise SpecError(f"until: {name}={value!r}: expected a positive integer")
        ok = _positive(self.confidence, float) and self.confidence < 1
        if not ok:
            raise SpecError(
                f"until: confidence={self.confidence!r}: expected a number between 0 and 1"
            )

    @property
    def column(self) -> str:
        """The frame column the metric reduces."""
        return self._split()[0]

    @property
    def how(self) -> str:
        """The per-run reduction (see :func:`~gmat_sweep_dask.per_run`)."""
        return self._split()[1]

    def _split(self) -> tuple[str, str]:
        column, sep, how = self.metric.rpartition(":")
        return (column, how) if sep and column else (self.metric, "last")

    def estimate(self, frame: dd.DataFrame) -> Estimate:
        """The estimate on ``frame`` (a sweep frame of :func:`~gmat_sweep_dask.open_sweep`).

        Raises:
            UsageError: the frame has no column ``column`` (its columns listed).
        """
        if self.column not in frame.columns:
            raise UsageError(
                f"until: metric {self.metric!r}: no column {self.column!r} in the report; "
                f"it has {[c for c in frame.columns if c != partitions.STATUS]}"
            )
        runs = per_run(frame, [self.column], (self.how,))
        values = runs[runs[partitions.STATUS] == mf.OK][f"{self.column}:{self.how}"].dropna()
        n, mean, std = dask.compute(values.count(), values.mean(), values.std(ddof=1))
        n = int(n)
        half = math.inf
        if n >= 2:
            from scipy import stats

            t = float(stats.t.ppf(0.5 + self.confidence / 2, n - 1))
            half = t * float(std) / math.sqrt(n)
        mean = float(mean) if n else math.nan
        return Estimate(
            self.metric,
            n,
            mean,
            float(std) if n >= 2 else math.nan,
            half,
            self.confidence,
            float(self.half_width),
        )


def _positive(value: object, kind: type) -> bool:
    """Whether ``value`` is a positive finite number (an integer for ``kind`` int)."""
    if isinstance(value, bool):
        return False
    allowed = numbers.Integral if kind is int else numbers.Real
    return isinstance(value, allowed) and math.isfinite(value) and value > 0
