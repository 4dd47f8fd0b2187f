"""The probability that a per-run constraint is violated, with binomial confidence intervals.

A constraint is a boolean expression over per-run values that is True when the run
violates it, e.g. ``"Sat.Earth.Altitude:min < 200"`` on a :func:`~gmat_sweep_dask.per_run`
frame, or ``"Sat.Earth.Altitude < 200"`` on a sweep frame with ``at="last"``. It is
counted with one lazy ``map_partitions`` and a sum, so only a few integers per partition
reach the client. The intervals are Wilson's score interval and the Clopper-Pearson
("exact") interval for k violations out of n runs.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from gmat_sweep_dask.analysis import partitions
from gmat_sweep_dask.analysis.states import state_at
from gmat_sweep_dask.errors import UsageError
from gmat_sweep_dask.store import manifest as mf

Constraint = str | Callable[[pd.DataFrame], Any]
_COUNTS = ("violated", "satisfied", "failed", "undetermined")


@dataclass(frozen=True)
class Violation:
    """``violated`` of ``n`` counted runs violate ``constraint``.

    ``failed`` runs (status not ok) and ``undetermined`` ones (ok, but a value the
    constraint needs is missing, or a callable returned NA) are left out of ``n``, or
    counted as violations when ``unknown="violated"`` was asked for.
    """

    constraint: str
    violated: int
    n: int
    failed: int
    undetermined: int
    unknown: str
    conf_level: float

    @property
    def p(self) -> float:
        """The estimated probability of a violation, ``violated / n``."""
        return self.violated / self.n

    @property
    def wilson(self) -> tuple[float, float]:
        """Wilson score interval of ``p`` at ``conf_level`` (no continuity correction)."""
        return wilson_interval(self.violated, self.n, self.conf_level)

    @property
    def clopper_pearson(self) -> tuple[float, float]:
        """Clopper-Pearson (exact binomial) interval of ``p`` at ``conf_level``."""
        return clopper_pearson_interval(self.violated, self.n, self.conf_level)

    def _repr_html_(self) -> str:
        w, c = self.wilson, self.clopper_pearson
        level = f"{self.conf_level:.0%}"
        how = "counted as violations" if self.unknown == "violated" else "left out"
        return (
            f"<p><b>P(<code>{html.escape(self.constraint)}</code>) = {self.p:.4g}</b> "
            f"({self.violated} of {self.n} runs; {self.failed} failed, {self.undetermined} "
            f"undetermined: {how})"
            f"<br>{level} Wilson [{w[0]:.4g}, {w[1]:.4g}], "
            f"Clopper-Pearson [{c[0]:.4g}, {c[1]:.4g}]</p>"
        )


def wilson_interval(k: int, n: int, conf_level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` trials."""
    from scipy import stats

    z = stats.norm.ppf(0.5 + conf_level / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


def clopper_pearson_interval(k: int, n: int, conf_level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval for ``k`` successes in ``n`` trials (from the beta law)."""
    from scipy import stats

    alpha = 1 - conf_level
    low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def violation_probability(
    frame: dd.DataFrame,
    constraint: Constraint,
    *,
    at: Any = None,
    columns: Sequence[str] | None = None,
    conf_level: float = 0.95,
    unknown: str = "exclude",
) -> Violation:
    """Probability that a run violates ``constraint``, with its confidence intervals.

    ``constraint`` is True for a violating run: a string evaluated by ``DataFrame.eval``
    in which column names may be written as they are (``Sat.Earth.Altitude:min < 200``,
    ``Sat.X > 0 and Sat.Y > 0``; names are matched longest first), or a callable taking a
    pandas frame of runs and returning a boolean Series (NA where it cannot tell).

    ``frame`` has one row per run (e.g. :func:`~gmat_sweep_dask.per_run`) when
    ``at=None``; otherwise it is a sweep frame and the constraint sees each run's state
    at ``at`` (see :func:`~gmat_sweep_dask.state_at`) of the columns the expression names,
    or of ``columns`` for a callable. ``unknown="violated"`` counts failed and
    undetermined runs as violations (conservative), ``"exclude"`` leaves them out.

    Raises:
        UsageError: a bad expression, column, ``unknown`` or ``conf_level``, or no run
            could be counted.
    """
    if unknown not in ("exclude", "violated") or not 0 < conf_level < 1:
        raise UsageError(
            f"unknown={unknown!r} must be 'exclude' or 'violated' and conf_level="
            f"{conf_level!r} in (0, 1)"
        )
    if isinstance(constraint, str):
        expression, used = _compile(constraint, list(frame.columns))
        label = constraint
    elif callable(constraint):
        expression, used = constraint, list(columns or [])
        label = getattr(constraint, "__name__", repr(constraint))
    else:
        raise UsageError(f"constraint {constraint!r}: expected an expression string or callable")
    if at is not None:
        frame = state_at(frame, [c for c in used if c != partitions.STATUS], at)
    elif partitions.STATUS not in frame.columns:
        raise UsageError("this frame has no status column; give a frame of per_run() or at=")
    checked = [c for c in used if c != partitions.STATUS]
    meta = pd.DataFrame({c: pd.Series(dtype="int64") for c in _COUNTS})
    if isinstance(expression, str):
        _count(frame._meta, expression, checked)  # a bad expression fails here, not later
    counts = frame.map_partitions(_count, expression, checked, meta=meta).sum().compute()
    violated, satisfied, failed, undetermined = (int(counts[k]) for k in _COUNTS)
    n = violated + satisfied
    if unknown == "violated":
        violated, n = violated + failed + undetermined, n + failed + undetermined
    if n == 0:
        raise UsageError(
            f"no run could be counted for {label!r}: {failed} failed, "
            f"{undetermined} without the values it needs"
        )
    return Violation(label, violated, n, failed, undetermined, unknown, conf_level)


def _compile(expression: str, columns: list[str]) -> tuple[str, list[str]]:
    """``expression`` with the frame's column names back-quoted, and the names it uses."""
    names = sorted((c for c in columns if isinstance(c, str)), key=len, reverse=True)
    alternatives = "|".join(re.escape(n) for n in names)
    pattern = re.compile(rf"`([^`]*)`|(?<![\w.:])({alternatives})(?![\w.:])" if names else "`()`")
    used: list[str] = []

    def quote(match: re.Match[str]) -> str:
        name = match.group(1) if match.group(1) is not None else match.group(2)
        used.append(name)
        return f"`{name}`"

    compiled = pattern.sub(quote, expression)
    unknown = [n for n in used if n not in columns]
    if unknown or not used:
        raise UsageError(
            f"constraint {expression!r}: it names no column of this frame"
            + (f" ({unknown} are not)" if unknown else "")
            + f"; columns: {columns}"
        )
    return compiled, list(dict.fromkeys(used))


def _count(
    runs: pd.DataFrame, constraint: str | Callable[[pd.DataFrame], Any], needed: list[str]
) -> pd.DataFrame:
    """One partition's runs counted as violated / satisfied / failed / undetermined."""
    ok = (runs[partitions.STATUS] == mf.OK).to_numpy(bool)
    try:
        if isinstance(constraint, str):
            verdict = runs.eval(constraint, engine="python")
        else:
            verdict = constraint(runs)
    except Exception as exc:  # the user's expression or callable: say which one failed
        raise UsageError(
            f"constraint {constraint!r} could not be evaluated: {type(exc).__name__}: {exc}"
        ) from exc
    verdict = pd.Series(verdict, index=runs.index) if np.ndim(verdict) else None
    if verdict is None or len(verdict) != len(runs):
        raise UsageError("constraint must give one boolean per run")
    known = verdict.notna().to_numpy(bool, copy=True)
    if needed:
        known &= runs[needed].notna().all(axis=1).to_numpy(bool)
    flags = verdict.astype("boolean").fillna(False).to_numpy(bool)
    counted = ok & known
    row = {
        "violated": int((counted & flags).sum()),
        "satisfied": int((counted & ~flags).sum()),
        "failed": int((~ok).sum()),
        "undetermined": int((ok & ~known).sum()),
    }
    return pd.DataFrame([row], columns=list(_COUNTS)).astype("int64")
