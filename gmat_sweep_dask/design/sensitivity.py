"""Sensitivity designs: Sobol (Saltelli's scheme) and Morris screening trajectories.

Both take ``perturb=`` like :class:`~.montecarlo.MonteCarlo` (distributions, offsets
around the script's values) and map points of the unit hypercube through each field's
inverse CDF, so a run's values are deterministic from the seed, the design and its
``run_id``; resume and extend reproduce them. ``n`` is the design's own size: Sobol base
samples (each ``2D + 2`` runs with second-order indices, else ``D + 2``, for ``D``
fields) or Morris trajectories (each ``D + 1`` runs). Run ids are in blocks: base sample
(trajectory) ``i`` is runs ``i * size .. (i + 1) * size - 1``.

* **Sobol**: base sample ``i`` is point ``i`` of a scrambled Sobol' sequence in ``2D``
  dimensions (scipy.stats.qmc, seeded), split into matrices A and B; its runs are
  ``A``, ``A`` with column ``j`` from ``B`` (each ``j``), with second order ``B`` with
  column ``j`` from ``A`` (each ``j``), then ``B``: SALib's Saltelli layout, so
  ``SALib.analyze.sobol`` reads the outputs in run order. The first points of the
  sequence do not depend on how many are drawn, so the design extends in place (powers
  of two keep the sequence's balance: extend 256 by 256, not by 100). The header records
  a hash of the points; a scipy that draws other points refuses to resume the sweep.
* **Morris**: trajectory ``i`` starts on a grid of ``levels`` values per field and moves
  one field at a time, in a random order, by ``levels / (2 (levels - 1))`` of the grid
  (the classic step), drawn from counter-based uniforms of ``(seed, field, i)``, so
  trajectories are independent and the design extends in place. Grid value ``x`` is the
  probability ``(x (levels - 1) + 1/2) / levels`` of the field's distribution: the centres
  of ``levels`` equally likely strata (for 4 levels its 12.5, 37.5, 62.5 and 87.5%
  quantiles), so unbounded distributions work and every field moves by the same
  probability.
"""

from __future__ import annotations

import hashlib
import warnings
from abc import abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from gmat_sweep_dask.design import random
from gmat_sweep_dask.design.distributions import Dist
from gmat_sweep_dask.design.montecarlo import MonteCarlo
from gmat_sweep_dask.errors import SpecError, SweepDirError

#: Probabilities are kept this far inside (0, 1) so no inverse CDF is infinite.
_EDGE = 2.0**-40


class _Blocked(MonteCarlo):
    """A design whose runs come in blocks of :attr:`size` rows of a unit matrix."""

    @property
    @abstractmethod
    def size(self) -> int:
        """Runs per base sample (Sobol) or trajectory (Morris)."""

    @property
    def blocks(self) -> int:
        """Base samples (Sobol) or trajectories (Morris): the design's ``n``."""
        return self._n

    @property
    def n_runs(self) -> int:
        return self._n * self.size

    def unit(self, start: int, stop: int) -> np.ndarray:
        """The unit-hypercube points of runs ``start..stop-1``, one column per field."""
        stop = min(stop, self.n_runs)
        first, last = start // self.size, (stop - 1) // self.size + 1
        rows = self._blocks(first, last).reshape(-1, len(self.dists))
        offset = first * self.size
        return rows[start - offset : stop - offset]

    @abstractmethod
    def _blocks(self, first: int, last: int) -> np.ndarray:
        """Blocks ``first..last-1`` as an array (blocks, size, fields)."""

    def _probabilities(self, unit: np.ndarray) -> np.ndarray:
        """The probabilities of the fields' distributions at unit points (as they are)."""
        return unit

    def block(self, start: int, stop: int) -> pd.DataFrame:
        ids = np.arange(start, min(stop, self.n_runs), dtype=np.int64)
        u = self._probabilities(self.unit(start, stop)) if len(ids) else np.zeros((0, 0))
        columns = {
            name: self._scaled(name, dist, np.clip(u[:, j], _EDGE, 1 - _EDGE))
            if len(ids)
            else np.zeros(0)
            for j, (name, dist) in enumerate(self.dists.items())
        }
        return pd.DataFrame(columns, index=pd.Index(ids, name="run_id"))

    @abstractmethod
    def _extended_kwargs(self) -> dict[str, Any]:
        """The design's own options, for :meth:`extended`."""

    def extended(self, more: int) -> MonteCarlo:
        """The same design with ``more`` base samples / trajectories appended."""
        if isinstance(more, bool) or not isinstance(more, int) or more < 1:
            raise SpecError(f"extend: n must be a positive integer, got {more!r}")
        return type(self)(
            self.dists, self._n + more, self._seed, self.nominal, **self._extended_kwargs()
        )


class Sobol(_Blocked):
    """Saltelli's sampling for Sobol indices: ``n`` base samples of ``2D + 2`` runs (or
    ``D + 2`` without second order)."""

    kind: ClassVar[str] = "sobol"

    def __init__(
        self,
        perturb: Mapping[str, Any],
        n: int,
        seed: int | None = None,
        nominal: Mapping[str, float] | None = None,
        *,
        second_order: bool = True,
    ) -> None:
        super().__init__(perturb, n, seed, nominal)
        if not isinstance(second_order, bool):
            raise SpecError(f"sobol: second_order must be True or False, got {second_order!r}")
        self.second_order = second_order
        self._digest: str | None = None

    @property
    def size(self) -> int:
        d = len(self.dists)
        return 2 * d + 2 if self.second_order else d + 2

    def points(self, first: int, last: int) -> np.ndarray:
        """Points ``first..last-1`` of the scrambled Sobol' sequence in ``2D`` dimensions."""
        from scipy.stats import qmc

        rng = np.random.default_rng(self._seed)
        try:
            engine = qmc.Sobol(2 * len(self.dists), scramble=True, rng=rng)
        except TypeError:  # pragma: no cover - scipy < 1.15 names it seed
            engine = qmc.Sobol(2 * len(self.dists), scramble=True, seed=rng)
        if first:
            engine.fast_forward(first)
        with warnings.catch_warnings():  # blocks need not be powers of two
            warnings.simplefilter("ignore", UserWarning)
            return engine.random(last - first)

    def _blocks(self, first: int, last: int) -> np.ndarray:
        d = len(self.dists)
        base = self.points(first, last)
        a, b = base[:, :d], base[:, d:]
        out = np.empty((len(base), self.size, d))
        out[:, 0], out[:, -1] = a, b
        columns = np.arange(d)
        out[:, 1 : d + 1] = a[:, None, :]
        out[:, 1 + columns, columns] = b
        if self.second_order:
            out[:, d + 1 : 2 * d + 1] = b[:, None, :]
            out[:, d + 1 + columns, columns] = a
        return out

    def header(self) -> dict[str, Any]:
        if self._digest is None:
            self._digest = _digest(self.points(0, self._n))
        return {
            **super().header(),
            "second_order": self.second_order,
            "points_sha256": self._digest,
        }

    def _extended_kwargs(self) -> dict[str, Any]:
        return {"second_order": self.second_order}

    @classmethod
    def from_header(cls, header: Mapping[str, Any], sweep_dir: Path) -> Sobol:
        """Rebuild the design; refuse if this scipy draws other points than recorded."""
        dists = {name: Dist.from_json(data) for name, data in header["perturb"]}
        design = cls(
            dists,
            header["n"],
            header["seed"],
            header.get("nominal"),
            second_order=header["second_order"],
        )
        if design.header()["points_sha256"] != header["points_sha256"]:
            import scipy

            raise SweepDirError(
                f"{sweep_dir}: scipy {scipy.__version__} draws other Sobol points than the "
                "ones this sweep was run with; use the scipy recorded in the manifest's "
                "versions to resume or extend it"
            )
        return design


class Morris(_Blocked):
    """Morris screening: ``n`` one-at-a-time trajectories of ``D + 1`` runs each."""

    kind: ClassVar[str] = "morris"

    def __init__(
        self,
        perturb: Mapping[str, Any],
        n: int,
        seed: int | None = None,
        nominal: Mapping[str, float] | None = None,
        *,
        levels: int = 4,
    ) -> None:
        super().__init__(perturb, n, seed, nominal)
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2 or levels % 2:
            raise SpecError(f"morris: levels must be an even integer >= 2, got {levels!r}")
        self.levels = levels

    @property
    def size(self) -> int:
        return len(self.dists) + 1

    @property
    def delta(self) -> float:
        """The step of every move, as a fraction of the grid."""
        return self.levels / (2 * (self.levels - 1))

    def _blocks(self, first: int, last: int) -> np.ndarray:
        names = list(self.dists)
        d, trajectories = len(names), np.arange(first, last, dtype=np.int64)
        count = len(trajectories)

        def draws(stream: int) -> np.ndarray:
            return np.column_stack(
                [random.uniforms(self._seed, n, trajectories, stream) for n in names]
            ).reshape(count, d)

        starts = np.floor(draws(10) * (self.levels // 2)) / (self.levels - 1)
        up = draws(11) < 0.5
        order = np.argsort(draws(12), axis=1)
        x = np.where(up, starts, starts + self.delta)
        step = np.where(up, self.delta, -self.delta)
        out = np.empty((count, d + 1, d))
        out[:, 0] = x
        rows = np.arange(count)
        for k in range(d):
            moved = out[:, k].copy()
            field = order[:, k]
            moved[rows, field] += step[rows, field]
            out[:, k + 1] = moved
        return out

    def _probabilities(self, unit: np.ndarray) -> np.ndarray:
        return (unit * (self.levels - 1) + 0.5) / self.levels

    def header(self) -> dict[str, Any]:
        return {**super().header(), "levels": self.levels}

    def _extended_kwargs(self) -> dict[str, Any]:
        return {"levels": self.levels}

    @classmethod
    def from_header(cls, header: Mapping[str, Any], sweep_dir: Path) -> Morris:
        """Rebuild the design recorded by :meth:`header`."""
        dists = {name: Dist.from_json(data) for name, data in header["perturb"]}
        return cls(
            dists, header["n"], header["seed"], header.get("nominal"), levels=header["levels"]
        )


def _digest(points: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(points, dtype="<f8").tobytes()).hexdigest()
