"""``gmat-sweep-dask check``: try a sweep in seconds before running it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gmat_sweep_dask.cli.common import EXIT_FAILED_RUNS, UserPath, handle_errors
from gmat_sweep_dask.options import help_text

_DESIGNS = {
    "monte-carlo": "monte_carlo",
    "lhs": "latin_hypercube",
    "sobol": "sobol",
    "morris": "morris",
}


@click.command(name="check")
@click.argument("script", type=UserPath(dir_okay=False, path_type=Path))
@click.option(
    "--grid",
    "grid_tokens",
    multiple=True,
    metavar="NAME=SPEC",
    help="A grid axis, as for run (repeatable).",
)
@click.option(
    "--samples",
    type=UserPath(exists=True, dir_okay=False, path_type=Path),
    help="A .csv or .parquet table, as for run.",
)
@click.option(
    "--perturb",
    multiple=True,
    metavar="NAME=DIST",
    help="A perturbed field, as for monte-carlo (repeatable; needs --n).",
)
@click.option("--n", "n", type=click.IntRange(min=1), help="Runs (base samples, trajectories).")
@click.option("--seed", type=click.IntRange(min=0), help="Seed of a --perturb design.")
@click.option(
    "--design",
    "method",
    type=click.Choice(sorted(_DESIGNS)),
    default="monte-carlo",
    show_default=True,
    help="Which stochastic design --perturb describes.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Worker processes the sweep will have, for the estimate (default: this machine's "
    "cores, as a local run).",
)
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help=help_text("timeout"))
@click.option(
    "--report", help="The ReportFile the sweep will read, when the script writes several."
)
@handle_errors
def check_command(
    script: Path,
    grid_tokens: tuple[str, ...],
    samples: Path | None,
    perturb: tuple[str, ...],
    n: int | None,
    seed: int | None,
    method: str,
    workers: int | None,
    timeout: float | None,
    report: str | None,
) -> None:
    """Try SCRIPT before sweeping it: which GMAT, the fields and their types, one run.

    Finds GMAT (the real one or the stand-in, and its version), loads SCRIPT, lists the
    fields the sweep would set with their values in the script and their types (the
    sweep's values are checked against them), runs the sweep's first run once, and
    estimates the whole sweep on --workers: runs × one run / workers, plus the engine
    start-up. No cluster starts and nothing is written. Without --grid, --samples or
    --perturb the script runs as written. Exit code 1 when the one run fails.

    \b
    Examples:
      gmat-sweep-dask check leo.script --grid 'Sat.SMA=7000:8000:20' --workers 2
      gmat-sweep-dask check leo.script --perturb 'Sat.SMA=normal:7100:50' --n 1000
    """
    from gmat_sweep_dask.api import check
    from gmat_sweep_dask.design.grid_grammar import parse_axes
    from gmat_sweep_dask.design.perturb_grammar import parse_perturb
    from gmat_sweep_dask.design.samples import read_table
    from gmat_sweep_dask.errors import SpecError

    if sum(map(bool, (grid_tokens, samples, perturb))) > 1:
        raise SpecError("give one of --grid, --samples or --perturb")
    report_found = check(
        script,
        grid=parse_axes(grid_tokens) if grid_tokens else None,
        samples=read_table(samples) if samples is not None else None,
        perturb=parse_perturb(perturb) if perturb else None,
        n=n,
        seed=seed,
        method=_DESIGNS[method],
        workers=workers,
        timeout=timeout,
        report=report,
    )
    click.echo(str(report_found))
    if report_found.status != "ok":
        sys.exit(EXIT_FAILED_RUNS)
