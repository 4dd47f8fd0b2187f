"""The functions most users call: :func:`sweep` to run, :func:`open_sweep` to reopen."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from gmat_sweep_dask import options
from gmat_sweep_dask.analysis.frames import open_sweep
from gmat_sweep_dask.analysis.until import Converged
from gmat_sweep_dask.design import Design, LatinHypercube, MonteCarlo, Morris, Sobol, make_design
from gmat_sweep_dask.execute import temporary
from gmat_sweep_dask.execute.contexts import Contexts
from gmat_sweep_dask.execute.hookcall import HookRun
from gmat_sweep_dask.execute.sweep import Sweep
from gmat_sweep_dask.execute.trial import CheckReport

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client

__all__ = [
    "Converged",
    "check",
    "extend",
    "latin_hypercube",
    "monte_carlo",
    "monte_carlo_extend",
    "morris",
    "open_sweep",
    "sobol",
    "sweep",
]


@options.document("keep-raw", "timeout", "isolate", "retries")
def sweep(
    script: str | Path,
    *,
    grid: Mapping[str, Iterable[Any]] | None = None,
    samples: pd.DataFrame | None = None,
    out: str | Path | None = None,
    client: Client | None = None,
    report: str | None = None,
    progress: bool = True,
    keep_raw: bool | None = None,
    timeout: float | None = None,
    isolate: bool | None = None,
    retries: int | None = None,
    postprocess: str | Callable[[HookRun], Mapping[str, Any]] | None = None,
    context: Contexts = None,
) -> dd.DataFrame:
    """Run ``script`` once per point of ``grid`` or row of ``samples``; return a lazy frame.

    Exactly one of ``grid`` (``{"Sat.SMA": [7000, 7100], ...}``, full factorial, last
    field fastest) or ``samples`` (a DataFrame, one row per run) is given. Runs are
    numbered ``run_id`` 0..N-1 in that order. Outputs go to ``out``; running the same
    sweep into the same ``out`` again only runs what is not yet ok there.

    ``client`` picks the Dask cluster; without it the active default client is used, or
    a LocalCluster is started and closed afterwards. ``out=None`` runs the sweep in a
    temporary directory for a quick look (``sweep_path(frame)``; printed with
    ``progress``), removed once the returned frame and every frame derived from it are
    garbage collected, at the latest at exit (:mod:`gmat_sweep_dask.execute.temporary`).
    ``report`` names the ReportFile of the returned frame when the script writes
    several (checked before anything runs).

    ``postprocess`` (``"package.module:function"``, or a picklable callable) runs on the
    worker after each successful run, with a :class:`~gmat_sweep_dask.HookRun` (the run's
    id, overrides, ``context`` and output frames); the scalars it returns are the run's
    row of ``open_sweep(out, kind="metrics")``, and files it adds go to
    ``out/runs/<run_id>/``. ``context`` gives each run JSON values for the hook: a
    mapping ``{run_id: {...}}`` or a callable ``run_id -> {...}``; it is recorded in the
    manifest and restored on resume.

    {settings}

    Returns the frame of :func:`open_sweep`: index ``run_id``, a ``time`` column, the
    report's columns, ``status`` and one column per swept field. Failed runs are rows too.

    Raises:
        SpecError: the parameter space is invalid.
        ScriptError: the script is missing or a swept field does not exist.
        SweepDirError: ``out`` holds a different sweep or cannot be written.
    """
    chosen = {"keep_raw": keep_raw, "timeout": timeout, "isolate": isolate, "retries": retries,
              "postprocess": postprocess, "context": context, "progress": progress}  # fmt: skip
    return _run(make_design(grid=grid, samples=samples), script, out, client, report, chosen)


SWEEP_OPTIONS = ("keep_raw", "timeout", "isolate", "postprocess", "context")
"""Keyword arguments of the sweep calls that configure the :class:`Sweep` itself."""


def check(
    script: str | Path,
    *,
    grid: Mapping[str, Iterable[Any]] | None = None,
    samples: pd.DataFrame | None = None,
    perturb: Mapping[str, Any] | None = None,
    n: int | None = None,
    seed: int | None = None,
    method: str = "monte_carlo",
    workers: int | None = None,
    timeout: float | None = None,
    report: str | None = None,
) -> CheckReport:
    """Try a sweep before running it, in seconds, on this machine (no cluster, nothing written).

    Finds GMAT (which: the real one or the stand-in, its version), loads ``script``,
    reads the fields the sweep would set (their values in the script and their types;
    the sweep's values are checked against them), runs the sweep's first run once and
    times it, and estimates the whole sweep on ``workers`` (default: this machine's
    cores): runs × one run's time / workers, plus the engine start-up. The sweep is
    ``grid`` or ``samples`` as for :func:`sweep`, or ``perturb`` with ``n`` (and
    ``seed``) as for :func:`monte_carlo` (``method``: ``monte_carlo``,
    ``latin_hypercube``, ``sobol`` or ``morris``); none of them checks the script as
    written. The returned report prints as ``gmat-sweep-dask check`` does and shows
    itself in a notebook.

    Raises:
        GmatMissingError: GMAT is not installed here.
        ScriptError: the script does not load, a field does not exist, or a value does
            not fit its field.
        SpecError: the parameter space is invalid.
    """
    from gmat_sweep_dask.execute.trial import check as trial

    design: Design | None = None
    if grid is not None or samples is not None or perturb is not None:
        design = make_design(
            grid=grid, samples=samples, perturb=perturb, n=n, seed=seed, method=method
        )
    return trial(script, design, workers=workers, timeout=timeout, report=report)


def monte_carlo(
    script: str | Path,
    *,
    n: int,
    perturb: Mapping[str, Any],
    out: str | Path | None = None,
    seed: int | None = None,
    client: Client | None = None,
    report: str | None = None,
    until: Converged | None = None,
    **options: Any,
) -> dd.DataFrame:
    """Run ``n`` Monte Carlo runs of ``script`` with the fields of ``perturb`` drawn.

    ``perturb`` maps dotted fields to distributions (see
    :mod:`gmat_sweep_dask.design.distributions`; wrap one in ``around(...)`` to perturb
    around the script's own value). The value of ``(run_id, field)`` depends only on
    ``seed``, the design and that pair; without ``seed`` one is generated and recorded in
    the manifest. Other options (``postprocess``, ``context`` too) and the returned frame
    are those of :func:`gmat_sweep_dask.sweep`; the drawn values are columns of the frame.

    ``until=Converged(metric, half_width=..., max_runs=...)`` then extends the sweep in
    place, ``batch`` runs at a time, until the confidence half-width of the metric's
    mean over the ok runs is at most ``half_width`` or the sweep has ``max_runs`` runs
    (see :class:`~gmat_sweep_dask.Converged`; ``until.estimate(frame)`` tells which).
    The result is exactly the plain Monte Carlo sweep of the final size; the same call
    again continues a stopped sweep to the same final size.
    """
    design = MonteCarlo(perturb, n, seed)
    if until is None:
        return _run(design, script, out, client, report, options)
    from gmat_sweep_dask.execute.until import frame_until

    chosen = {k: options.pop(k) for k in SWEEP_OPTIONS if k in options}
    run = functools.partial(frame_until, script, design, until, client, report, chosen, options)
    return temporary.run_in(out, options.get("progress", True), run)


def latin_hypercube(
    script: str | Path,
    *,
    n: int,
    perturb: Mapping[str, Any],
    out: str | Path | None = None,
    seed: int | None = None,
    client: Client | None = None,
    report: str | None = None,
    **options: Any,
) -> dd.DataFrame:
    """Like :func:`monte_carlo`, with exactly one run per stratum ``[k/n, (k+1)/n)`` of
    every field's distribution (Latin hypercube). It cannot be extended later."""
    return _run(LatinHypercube(perturb, n, seed), script, out, client, report, options)


def sobol(
    script: str | Path,
    *,
    n: int,
    perturb: Mapping[str, Any],
    out: str | Path | None = None,
    seed: int | None = None,
    second_order: bool = True,
    client: Client | None = None,
    report: str | None = None,
    **options: Any,
) -> dd.DataFrame:
    """Run a Sobol sensitivity design: ``n`` base samples of Saltelli's scheme.

    That is ``n * (2 D + 2)`` runs for ``D`` fields (``n * (D + 2)`` with
    ``second_order=False``); ``n`` a power of two keeps the Sobol' sequence balanced.
    ``perturb``, ``seed``, the options and the returned frame are those of
    :func:`monte_carlo`; :func:`~gmat_sweep_dask.sensitivity` then gives the indices of
    any per-run metric, and :func:`extend` adds base samples (see
    :class:`~gmat_sweep_dask.design.Sobol`).
    """
    design = Sobol(perturb, n, seed, second_order=second_order)
    return _run(design, script, out, client, report, options)


def morris(
    script: str | Path,
    *,
    n: int,
    perturb: Mapping[str, Any],
    out: str | Path | None = None,
    seed: int | None = None,
    levels: int = 4,
    client: Client | None = None,
    report: str | None = None,
    **options: Any,
) -> dd.DataFrame:
    """Run a Morris screening design: ``n`` trajectories of ``D + 1`` runs on a grid of
    ``levels`` values per field (even). Otherwise as :func:`sobol`; see
    :class:`~gmat_sweep_dask.design.Morris`."""
    design = Morris(perturb, n, seed, levels=levels)
    return _run(design, script, out, client, report, options)


def extend(
    out: str | Path,
    *,
    n: int,
    client: Client | None = None,
    report: str | None = None,
    allow_script_drift: bool = False,
    keep_raw: bool | None = None,
    timeout: float | None = None,
    isolate: bool | None = None,
    **options: Any,
) -> dd.DataFrame:
    """Grow the Monte Carlo sweep in ``out`` by ``n`` runs, in place.

    Runs ``0..old_n-1`` are untouched; the new runs are exactly those a fresh sweep of
    ``old_n + n`` runs with the same seed would have drawn. For a Sobol or Morris sweep
    ``n`` counts base samples or trajectories, as their own ``n`` does. Failed or missing earlier
    runs are run too. ``keep_raw``, ``timeout``, ``isolate`` and the postprocess hook
    default to the recorded ones; ``postprocess`` and ``context`` as for :func:`sweep`
    (a hook that was a Python callable must be given again). Raises SpecError for a
    design that cannot grow.
    """
    job = Sweep.extended(
        out,
        n,
        allow_script_drift=allow_script_drift,
        keep_raw=keep_raw,
        timeout=timeout,
        isolate=isolate,
        postprocess=options.pop("postprocess", None),
        context=options.pop("context", None),
    )
    progress = options.pop("progress", True)
    job.run(client, progress=progress, report=report, require_report=True, **options)
    return job.frame(report)


def _run(
    design: Any,
    script: str | Path,
    out: str | Path | None,
    client: Client | None,
    report: str | None,
    options: dict[str, Any],
) -> dd.DataFrame:
    sweep_options = {k: options.pop(k) for k in SWEEP_OPTIONS if k in options}

    def body(where: str | Path) -> dd.DataFrame:
        job = Sweep(script, design, where, **sweep_options)
        job.run(client, report=report, require_report=True, **options)
        return job.frame(report)

    return temporary.run_in(out, options.get("progress", True), body)


monte_carlo_extend = extend
