"""The functions most users call: :func:`sweep` to run, :func:`open_sweep` to reopen."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import pandas as pd
from distributed import Client

from gmat_sweep_dask import layout
from gmat_sweep_dask.design import Design, Grid, Samples, design_from_header
from gmat_sweep_dask.errors import SpecError
from gmat_sweep_dask.frames import open_frame
from gmat_sweep_dask.manifest import Manifest
from gmat_sweep_dask.runner import Sweep


def sweep(
    script: str | Path,
    *,
    grid: Mapping[str, Iterable[Any]] | None = None,
    samples: pd.DataFrame | None = None,
    out: str | Path,
    client: Client | None = None,
    report: str | None = None,
    progress: bool = True,
    keep_raw: bool | None = None,
    timeout: float | None = None,
    isolate: bool | None = None,
    retries: int | None = None,
) -> dd.DataFrame:
    """Run ``script`` once per point of ``grid`` or row of ``samples``; return a lazy frame.

    Exactly one of ``grid`` (``{"Sat.SMA": [7000, 7100], ...}``, full factorial, last
    field fastest) or ``samples`` (a DataFrame, one row per run) is given. Runs are
    numbered ``run_id`` 0..N-1 in that order. Outputs go to ``out``; running the same
    sweep into the same ``out`` again only runs what is not yet ok there.

    ``client`` picks the Dask cluster; without it the active default client is used, or
    a LocalCluster is started and closed afterwards. ``report`` names the ReportFile of
    the returned frame when the script writes several (checked before anything runs).
    ``timeout`` (seconds) kills and
    fails a run that takes longer; ``isolate=False`` runs GMAT inside the worker process
    (no crash isolation, no timeout); ``keep_raw`` keeps GMAT's text outputs.

    Returns the frame of :func:`open_sweep`: index ``run_id``, a ``time`` column, the
    report's columns, ``status`` and one column per swept field. Failed runs are rows too.

    Raises:
        SpecError: the parameter space is invalid.
        ScriptError: the script is missing or a swept field does not exist.
        SweepDirError: ``out`` holds a different sweep or cannot be written.
    """
    design = make_design(grid=grid, samples=samples)
    job = Sweep(script, design, out, keep_raw=keep_raw, timeout=timeout, isolate=isolate)
    job.run(client, progress=progress, retries=retries, report=report, require_report=True)
    return job.frame(report)


def open_sweep(out: str | Path, report: str | None = None, *, kind: str = "report") -> dd.DataFrame:
    """Lazy frame of a sweep directory's outputs (finished, partial or running).

    ``out`` is the sweep directory (or its manifest file); it may have been moved or
    copied, and the script need not exist any more. ``kind`` is ``report``,
    ``ephemeris``, ``contact`` or ``solver``. Only the manifest and Parquet footers are
    read here; runs never recorded are left out.
    """
    path = Path(out).expanduser()
    sweep_dir = path.parent if path.name == layout.MANIFEST else path
    manifest = Manifest.load(sweep_dir / layout.MANIFEST)
    design = design_from_header(manifest.header["design"], sweep_dir.resolve())
    return open_frame(manifest, design, kind=kind, name=report)


def make_design(
    *, grid: Mapping[str, Iterable[Any]] | None = None, samples: pd.DataFrame | None = None
) -> Design:
    """The design for exactly one of ``grid`` or ``samples``."""
    if (grid is None) == (samples is None):
        raise SpecError("give exactly one of grid= or samples=")
    return Grid(grid) if grid is not None else Samples(samples)
