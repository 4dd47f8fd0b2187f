"""Monte Carlo and Latin hypercube designs over perturbed GMAT fields.

Both draw the value of ``(run_id, field)`` from the seed, the design and that pair only
(:mod:`gmat_sweep_dask.design.random`), so the draws do not depend on worker count,
scheduling, batching or which runs already ran. Without a seed one is generated and
recorded in the header, so resume and extend reproduce the same draws. A Monte Carlo
design of n runs is the first n runs of the same design with more runs, so it extends in
place; a Latin hypercube's strata depend on n, so it refuses to extend.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from gmat_sweep_dask.design import random
from gmat_sweep_dask.design.base import MAX_RUNS, Design, check_field_name
from gmat_sweep_dask.design.distributions import Dist, parse
from gmat_sweep_dask.errors import ScriptError, SpecError


class MonteCarlo(Design):
    """``n`` runs, each field drawn independently from its distribution."""

    kind: ClassVar[str] = "monte_carlo"

    def __init__(
        self,
        perturb: Mapping[str, Any],
        n: int,
        seed: int | None = None,
        nominal: Mapping[str, float] | None = None,
    ) -> None:
        if not isinstance(perturb, Mapping) or not perturb:
            raise SpecError(f"{self.kind}: perturb= needs at least one field")
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise SpecError(f"{self.kind}: n must be a positive integer, got {n!r}")
        if n > MAX_RUNS:
            shown = f"{n:,}" if n < 10**30 else f"a {len(str(n))}-digit number"
            raise SpecError(f"{self.kind}: n is {shown}; at most 2**53 runs can be indexed")
        integer = isinstance(seed, int | np.integer) and not isinstance(seed, bool)
        if seed is not None and not (integer and 0 <= seed < 2**63):  # the manifest's ints
            raise SpecError(f"{self.kind}: seed must be an integer from 0 to 2**63-1, got {seed!r}")
        self.dists: dict[str, Dist] = {}
        for name, spec in perturb.items():
            check_field_name(name, where="perturb")
            self.dists[name] = (
                spec if isinstance(spec, Dist) else parse(spec, where=f"perturb {name}")
            )
        self._n = int(n)
        self._seed = secrets.randbits(63) if seed is None else int(seed)
        self.nominal: dict[str, float] = dict(nominal or {})
        for name, dist in self.dists.items():
            _check_finite(name, dist, self._extreme_uniforms())

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.dists)

    @property
    def n_runs(self) -> int:
        return self._n

    @property
    def seed(self) -> int:
        return self._seed

    def resolve(self, nominal: dict[str, Any]) -> None:
        for name, dist in self.dists.items():
            if dist.offset and name not in self.nominal:
                value = nominal.get(name)
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ScriptError(
                        f"perturb {name}: the script's value {value!r} is not a "
                        "number, so it cannot be perturbed around"
                    )
                self.nominal[name] = float(value)

    def block(self, start: int, stop: int) -> pd.DataFrame:
        ids = np.arange(start, min(stop, self._n), dtype=np.int64)
        columns = {name: self._values(name, dist, ids) for name, dist in self.dists.items()}
        frame = pd.DataFrame(columns, index=pd.Index(ids, name="run_id"))
        return frame

    def _uniforms(self, name: str, ids: np.ndarray) -> np.ndarray:
        return random.uniforms(self._seed, name, ids)

    def _extreme_uniforms(self) -> np.ndarray:
        """The smallest and largest uniform any run of this design can draw."""
        return np.array([2.0**-54, random.LARGEST])

    def _values(self, name: str, dist: Dist, ids: np.ndarray) -> np.ndarray:
        return self._scaled(name, dist, self._uniforms(name, ids))

    def _scaled(self, name: str, dist: Dist, u: np.ndarray) -> np.ndarray:
        """Field values at probabilities ``u`` of its distribution (offsets applied)."""
        values = dist.ppf(u).astype(np.float64)
        if dist.offset:
            if name not in self.nominal:
                raise SpecError(f"perturb {name}: its nominal value is not known yet")
            values = values + self.nominal[name]
        if not np.isfinite(values).all():
            bad = float(values[int(np.argmin(np.isfinite(values)))])
            raise SpecError(f"perturb {name}: a draw is not a finite number ({bad!r})")
        return values

    def header(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "n": self._n,
            "seed": self._seed,
            "perturb": [[name, dist.to_json()] for name, dist in self.dists.items()],
            "nominal": self.nominal,
        }

    @classmethod
    def from_header(cls, header: Mapping[str, Any], sweep_dir: Path) -> MonteCarlo:
        """Rebuild the design recorded by :meth:`header`."""
        dists = {name: Dist.from_json(data) for name, data in header["perturb"]}
        return cls(dists, header["n"], header["seed"], header.get("nominal"))

    def extended(self, more: int) -> MonteCarlo:
        """The same design with ``more`` runs appended (the first runs are unchanged)."""
        if isinstance(more, bool) or not isinstance(more, int) or more < 1:
            raise SpecError(f"extend: n must be a positive integer, got {more!r}")
        return type(self)(self.dists, self._n + more, self._seed, self.nominal)


class LatinHypercube(MonteCarlo):
    """``n`` runs with exactly one sample per stratum ``[k/n, (k+1)/n)`` in every field."""

    kind: ClassVar[str] = "latin_hypercube"

    def _uniforms(self, name: str, ids: np.ndarray) -> np.ndarray:
        u = (self._strata(name)[ids] + random.uniforms(self._seed, name, ids, stream=2)) / self._n
        return np.minimum(u, random.LARGEST)  # the top stratum may round up to 1.0

    def _extreme_uniforms(self) -> np.ndarray:
        return np.array([2.0**-54 / self._n, random.LARGEST])

    def _strata(self, name: str) -> np.ndarray:
        """Field ``name``'s stratum of each run: a permutation of ``0..n-1``, drawn once
        per process (drawing it for every batch cost each batch time in ``n``: 3 s of the
        driver's per 256 runs at n = 10**7). Kept as uint32 where that holds it."""
        cache: dict[str, np.ndarray] = self.__dict__.setdefault("_strata_cache", {})
        if name not in cache:
            rng = np.random.Generator(np.random.Philox(key=int(random.key(self._seed, name, 1))))
            strata = rng.permutation(self._n)
            cache[name] = strata.astype(np.uint32) if self._n <= 2**32 else strata
        return cache[name]

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the strata (``n`` numbers a field): a copy draws its own."""
        return {k: v for k, v in self.__dict__.items() if k != "_strata_cache"}

    def extended(self, more: int) -> MonteCarlo:
        raise SpecError(
            "a Latin hypercube cannot be extended: its strata depend on n, so adding runs "
            "would break one-sample-per-stratum; run a new Latin hypercube, or a Monte Carlo "
            "sweep, which extends in place"
        )


def _check_finite(name: str, dist: Dist, extremes: np.ndarray) -> None:
    """Refuse a distribution whose most extreme possible draws are not finite numbers."""
    with np.errstate(all="ignore"):
        lo, hi = (float(v) for v in dist.ppf(extremes))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise SpecError(
            f"perturb {name}: {dist.name}{tuple(dist.params)} can draw values outside the "
            f"finite numbers (its extreme draws are {lo!r} and {hi!r}); narrow it"
        )
