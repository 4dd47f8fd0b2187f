"""A Monte Carlo sweep grown in batches until its stopping rule holds (``until=``).

:func:`run_until` runs the design's ``n`` runs, then, while the rule's half-width is above
its tolerance and the sweep is below its budget, extends the sweep in place by a batch
(:meth:`Sweep.extended <gmat_sweep_dask.execute.sweep.Sweep.extended>`) and runs it. The
rule is evaluated only at batch ends, on all ok runs so far, so the sweep stops at the
first batch end where the half-width is at most the tolerance: the same size every time
for a seed and an engine. The sweep is always a plain Monte Carlo design (the rule is not
recorded): the final directory is identical to ``monte_carlo(n=<final size>)``.

Calling it again with the same arguments continues a sweep that was stopped: it starts
from the size recorded in the manifest (never smaller than ``n``), runs what is pending
there, and goes on batch by batch to the same final size.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from gmat_sweep_dask.analysis.until import Converged, Estimate
from gmat_sweep_dask.design import MonteCarlo
from gmat_sweep_dask.errors import SpecError
from gmat_sweep_dask.execute.result import SweepResult
from gmat_sweep_dask.execute.sweep import Sweep
from gmat_sweep_dask.store.sweepdir import SweepDir
from gmat_sweep_dask.wording import plural

CLUSTER_ARGS = ("scheduler", "cluster", "tls")


def run_until(
    script: str | Path,
    design: MonteCarlo,
    out: str | Path,
    until: Converged,
    *,
    sweep_options: Mapping[str, Any],
    run_args: Mapping[str, Any],
    report: str | None = None,
) -> tuple[Sweep, SweepResult, Estimate]:
    """Run ``design`` into ``out`` and grow it by ``until.batch`` runs (default the
    design's ``n``) until ``until`` holds or the sweep has ``until.max_runs`` runs.

    ``sweep_options`` go to :class:`Sweep` (``keep_raw``, ``timeout``, ``isolate``),
    ``run_args`` to :meth:`Sweep.run` (``client`` or ``scheduler``/``cluster``/``tls``,
    ``progress``, ``retries``). The first batch runs as a plain sweep (every check before
    a cluster starts); the batches after it share one cluster. With ``progress`` each
    batch end prints the estimate on stderr. Returns the last sweep, the whole sweep's
    counts (``executed`` and ``wall_s`` summed over this call's batches) and the last
    estimate.

    Raises:
        SpecError: ``until.max_runs`` is below ``n`` or the runs already in ``out``,
            or the design is not a Monte Carlo
            one (a Latin hypercube cannot grow).
        UsageError: the metric names no column of the report (after the first batch,
            when the report's columns are known).
    """
    if type(design) is not MonteCarlo:
        raise SpecError(f"until= needs a Monte Carlo design, not a {design.kind} one")
    if until.max_runs < design.n_runs:
        raise SpecError(
            f"until: max_runs={until.max_runs} is below n={design.n_runs}, the first batch"
        )
    batch = until.batch or design.n_runs
    recorded = _recorded_size(out, design)
    if recorded > until.max_runs:
        raise SpecError(
            f"until: {out} already holds a sweep of {recorded} runs, more than "
            f"max_runs={until.max_runs}"
        )
    if recorded > design.n_runs:
        design = MonteCarlo(design.dists, recorded, design.seed)
    job = Sweep(script, design, out, **sweep_options)
    args = dict(run_args)
    progress = bool(args.get("progress", True))
    results: list[SweepResult] = []
    with ExitStack() as stack:
        while True:
            results.append(job.run(report=report, require_report=True, **args))
            estimate = until.estimate(job.frame(report))
            size = job.design.n_runs
            if estimate.converged or size >= until.max_runs:
                break
            more = min(batch, until.max_runs - size)
            if progress:
                print(f"until {estimate}: {plural(more, 'more run')}", file=sys.stderr)
            if args.get("client") is None:
                args["client"] = stack.enter_context(_cluster(out, args, progress))
            job = Sweep.extended(out, more, **sweep_options)
    if progress:
        why = "converged" if estimate.converged else f"budget of {until.max_runs} runs reached"
        print(f"until {estimate}: {why} at {plural(size, 'run')}", file=sys.stderr)
    last = results[-1]
    total = SweepResult(
        last.out,
        last.counts,
        sum(r.wall_s for r in results),
        sum(r.executed for r in results),
        next((r.gmat for r in reversed(results) if r.gmat), {}),
        sum(r.reconciled for r in results),
    )
    return job, total, estimate


def frame_until(
    script: str | Path,
    design: MonteCarlo,
    until: Converged,
    client: Any,
    report: str | None,
    sweep_options: dict[str, Any],
    options: dict[str, Any],
    out: str | Path,
) -> Any:
    """``monte_carlo(..., until=...)``: :func:`run_until`, then the lazy frame of ``report``.
    ``sweep_options`` go to :class:`Sweep`, ``options`` (the run options) to its runs."""
    job, _, _ = run_until(
        script,
        design,
        out,
        until,
        sweep_options=sweep_options,
        run_args={"client": client, **options},
        report=report,
    )
    return job.frame(report)


def _recorded_size(out: str | Path, design: MonteCarlo) -> int:
    """Runs of the Monte Carlo sweep already recorded in ``out`` with this design's seed
    and fields (0 when there is none; another sweep there is refused later, by the run)."""
    sweep_dir = SweepDir(out)
    if not sweep_dir.has_manifest():
        return 0
    recorded = sweep_dir.load().header.get("design", {})
    mine = design.header()
    same = all(recorded.get(k) == mine[k] for k in ("kind", "seed", "perturb"))
    return int(recorded.get("n", 0)) if same else 0


def _cluster(out: str | Path, args: dict[str, Any], progress: bool) -> Any:
    """One cluster for the batches after the first, chosen as the first batch's was."""
    from gmat_sweep_dask.execute.cluster import connect

    chosen = {k: args.pop(k) for k in CLUSTER_ARGS if k in args}
    return connect(
        None,
        Path(out),
        scheduler=chosen.get("scheduler"),
        spec=chosen.get("cluster"),
        tls=chosen.get("tls"),
        announce=progress,
    )
