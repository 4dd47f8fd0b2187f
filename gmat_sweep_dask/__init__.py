"""gmat-sweep-dask: GMAT parameter sweeps and Monte Carlo dispersions as Dask graphs.

Imports are lazy so ``gmat-sweep-dask --help`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "sweep": "gmat_sweep_dask.api",
    "check": "gmat_sweep_dask.api",
    "CheckReport": "gmat_sweep_dask.execute.trial",
    "open_sweep": "gmat_sweep_dask.analysis.frames",
    "sweep_path": "gmat_sweep_dask.analysis.frames",
    "archive": "gmat_sweep_dask.store.archive",
    "Sweep": "gmat_sweep_dask.execute.sweep",
    "SweepResult": "gmat_sweep_dask.execute.result",
    "Manifest": "gmat_sweep_dask.store.manifest",
    "HookRun": "gmat_sweep_dask.execute.hookcall",
    "Grid": "gmat_sweep_dask.design",
    "Samples": "gmat_sweep_dask.design",
    "GmatSweepDaskError": "gmat_sweep_dask.errors",
    "UsageError": "gmat_sweep_dask.errors",
    "SpecError": "gmat_sweep_dask.errors",
    "ScriptError": "gmat_sweep_dask.errors",
    "GmatMissingError": "gmat_sweep_dask.errors",
    "SweepDirError": "gmat_sweep_dask.errors",
    "SweepLockedError": "gmat_sweep_dask.errors",
    "SweepDirWriteError": "gmat_sweep_dask.errors",
    "ManifestCorruptError": "gmat_sweep_dask.errors",
    "monte_carlo": "gmat_sweep_dask.api",
    "Converged": "gmat_sweep_dask.analysis.until",
    "latin_hypercube": "gmat_sweep_dask.api",
    "extend": "gmat_sweep_dask.api",
    "monte_carlo_extend": "gmat_sweep_dask.api",
    "sobol": "gmat_sweep_dask.api",
    "morris": "gmat_sweep_dask.api",
    "Sobol": "gmat_sweep_dask.design",
    "Morris": "gmat_sweep_dask.design",
    "sensitivity": "gmat_sweep_dask.analysis.sensitivity",
    "around": "gmat_sweep_dask.design.distributions",
    "MonteCarlo": "gmat_sweep_dask.design",
    "LatinHypercube": "gmat_sweep_dask.design",
    "per_run": "gmat_sweep_dask.analysis.statistics",
    "bands": "gmat_sweep_dask.analysis.bands",
    "convergence": "gmat_sweep_dask.analysis.statistics",
    "runs_table": "gmat_sweep_dask.analysis.statistics",
    "epoch_info": "gmat_sweep_dask.analysis.statistics",
    "time_scale": "gmat_sweep_dask.analysis.statistics",
    "state_at": "gmat_sweep_dask.analysis.states",
    "dispersion": "gmat_sweep_dask.analysis.dispersion",
    "violation_probability": "gmat_sweep_dask.analysis.violation",
    "sweep_diff": "gmat_sweep_dask.analysis.compare",
    "fused_reports": "gmat_sweep_dask.analysis.fuse",
    "verify": "gmat_sweep_dask.store.verify",
    "VerifyReport": "gmat_sweep_dask.store.verify",
    "band_plot": "gmat_sweep_dask.analysis.plotting",
    "corner_plot": "gmat_sweep_dask.analysis.plots_dispersion",
    "heatmap": "gmat_sweep_dask.analysis.plots_dispersion",
    "convergence_plot": "gmat_sweep_dask.analysis.plots_dispersion",
    "param_plot": "gmat_sweep_dask.analysis.plotting",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'gmat_sweep_dask' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
