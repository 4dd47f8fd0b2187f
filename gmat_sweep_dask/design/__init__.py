"""Parameter spaces (designs): which fields each run overrides, by ``run_id``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from gmat_sweep_dask.design.base import Design
from gmat_sweep_dask.design.grid import Grid
from gmat_sweep_dask.design.montecarlo import LatinHypercube, MonteCarlo
from gmat_sweep_dask.design.samples import Samples
from gmat_sweep_dask.design.sensitivity import Morris, Sobol
from gmat_sweep_dask.errors import SpecError, SweepDirError

_KINDS: dict[str, Any] = {
    kind.kind: kind for kind in (Grid, Samples, MonteCarlo, LatinHypercube, Sobol, Morris)
}


def design_from_header(
    header: Mapping[str, Any], sweep_dir: Path, run_count: int | None = None
) -> Design:
    """Rebuild the design a manifest header describes (of ``run_count`` runs if given).

    Raises:
        SweepDirError: the recorded design is malformed, cannot be rebuilt, or defines
            another number of runs than ``run_count`` (a damaged or crafted header).
    """
    kind = header.get("kind") if isinstance(header, Mapping) else None
    if kind not in _KINDS:
        raise SweepDirError(f"manifest: unknown design kind {kind!r}; known: {sorted(_KINDS)}")
    try:
        design = _KINDS[kind].from_header(header, sweep_dir)
    except SweepDirError:
        raise
    except (SpecError, KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise SweepDirError(
            f"{sweep_dir}: the manifest's {kind} design cannot be rebuilt ({exc!r})"
        ) from None
    if run_count is not None and design.n_runs != run_count:
        raise SweepDirError(
            f"{sweep_dir}: the manifest's {kind} design defines {design.n_runs} runs, "
            f"its run_count is {run_count}"
        )
    return design


__all__ = [
    "Design",
    "Grid",
    "LatinHypercube",
    "MonteCarlo",
    "Morris",
    "Samples",
    "Sobol",
    "design_from_header",
    "make_design",
]


STOCHASTIC: dict[str, Any] = {
    "monte_carlo": MonteCarlo,
    "latin_hypercube": LatinHypercube,
    "sobol": Sobol,
    "morris": Morris,
}


def make_design(
    *,
    grid: Mapping[str, Iterable[Any]] | None = None,
    samples: pd.DataFrame | None = None,
    perturb: Mapping[str, Any] | None = None,
    n: int | None = None,
    seed: int | None = None,
    method: str = "monte_carlo",
) -> Design:
    """The design for exactly one of ``grid``, ``samples`` or ``perturb`` (with ``n``,
    ``seed`` and ``method``, a key of :data:`STOCHASTIC`)."""
    if perturb is not None:
        if grid is not None or samples is not None:
            raise SpecError("give one of grid=, samples= or perturb=")
        if method not in STOCHASTIC:
            raise SpecError(f"method={method!r}: expected one of {', '.join(STOCHASTIC)}")
        if n is None:
            raise SpecError("perturb= needs n=, the number of runs (or base samples)")
        return STOCHASTIC[method](perturb, n, seed)
    if (grid is None) == (samples is None):
        raise SpecError("give exactly one of grid= or samples=")
    return Grid(grid) if grid is not None else Samples(samples)
