"""CLI commands for stochastic designs: ``monte-carlo``, ``lhs`` and ``extend``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gmat_sweep_dask.cli import (
    UserPath,
    _cluster_choice,
    _cluster_options,
    _finish,
    _handle_errors,
    _run_options,
    _sweep_options,
)

_PERTURB_HELP = (
    "NAME=DIST:A:B, repeatable: normal:MU:SIGMA, uniform:LO:HI, lognormal:MU:SIGMA (of log X), "
    "truncnormal:MU:SIGMA:LO:HI; a leading ~ (NAME=~normal:0:50) perturbs around the "
    "script's own value."
)


def _design_options(command: Any) -> Any:
    for option in reversed(
        [
            click.option("--n", "n", type=click.IntRange(min=1), required=True, help="Runs."),
            click.option(
                "--perturb", multiple=True, required=True, metavar="NAME=DIST", help=_PERTURB_HELP
            ),
            click.option(
                "--seed",
                type=click.IntRange(min=0),
                help="Seed (default: generated and recorded in the manifest).",
            ),
            click.option(
                "--out", required=True, type=UserPath(path_type=Path), help="Sweep directory."
            ),
        ]
    ):
        command = option(command)
    return command


def _stochastic(
    kind: str,
    script: Path,
    n: int,
    perturb: tuple[str, ...],
    seed: int | None,
    out: Path,
    options: dict[str, Any],
) -> None:
    from gmat_sweep_dask.design import LatinHypercube, MonteCarlo
    from gmat_sweep_dask.design.perturb_grammar import parse_perturb
    from gmat_sweep_dask.execute.sweep import Sweep

    design_class = MonteCarlo if kind == "mc" else LatinHypercube
    design = design_class(parse_perturb(perturb), n, seed)
    run_args = _cluster_choice(options)
    job = Sweep(script, design, out, **_sweep_options(options))
    _finish(job.run(**run_args), run_args["progress"])


@click.command(name="monte-carlo")
@click.argument("script", type=UserPath(dir_okay=False, path_type=Path))
@_design_options
@_run_options
@_cluster_options
@_handle_errors
def monte_carlo_command(
    script: Path, n: int, perturb: tuple[str, ...], seed: int | None, out: Path, **options: Any
) -> None:
    """Run N Monte Carlo runs of SCRIPT with the --perturb fields drawn.

    \b
    Example:
      gmat-sweep-dask monte-carlo leo.script --n 1000 \\
          --perturb 'Sat.SMA=normal:7100:50' --perturb 'Sat.INC=~uniform:-0.1:0.1' \\
          --seed 42 --out runs/mc
    """
    _stochastic("mc", script, n, perturb, seed, out, options)


@click.command(name="lhs")
@click.argument("script", type=UserPath(dir_okay=False, path_type=Path))
@_design_options
@_run_options
@_cluster_options
@_handle_errors
def lhs_command(
    script: Path, n: int, perturb: tuple[str, ...], seed: int | None, out: Path, **options: Any
) -> None:
    """Run a Latin hypercube of N runs of SCRIPT: one run per stratum of every field.

    \b
    Example:
      gmat-sweep-dask lhs leo.script --n 200 --perturb 'Sat.SMA=uniform:6900:7300' \\
          --perturb 'Sat.ECC=uniform:0:0.02' --seed 7 --out runs/lhs
    """
    _stochastic("lhs", script, n, perturb, seed, out, options)


@click.command(name="extend")
@click.argument("sweep_dir", type=UserPath(path_type=Path))
@click.option("--n", "n", type=click.IntRange(min=1), required=True, help="Runs to add.")
@click.option("--allow-script-drift", is_flag=True, help="Run even if the script changed.")
@_run_options
@_cluster_options
@_handle_errors
def extend_command(sweep_dir: Path, n: int, allow_script_drift: bool, **options: Any) -> None:
    """Grow the Monte Carlo sweep in SWEEP_DIR by N runs, in place.

    The first runs are untouched; the new ones are exactly those a fresh sweep of the
    larger size with the same seed would have drawn. For a sobol or morris sweep N
    counts base samples or trajectories. --keep-raw, --timeout and --no-isolate default
    to the ones recorded in the manifest.

    \b
    Example:
      gmat-sweep-dask extend runs/mc --n 500
    """
    from gmat_sweep_dask.design import MonteCarlo
    from gmat_sweep_dask.errors import SpecError
    from gmat_sweep_dask.execute.sweep import Sweep

    sweep_options = _sweep_options(options)
    run_args = _cluster_choice(options)
    job = Sweep.from_manifest(sweep_dir, allow_script_drift=allow_script_drift, **sweep_options)
    if not isinstance(job.design, MonteCarlo):
        raise SpecError(
            f"{sweep_dir}: only Monte Carlo sweeps can be extended, "
            f"this one is a {job.design.kind} sweep"
        )
    job.grow(job.design.extended(n))
    _finish(job.run(**run_args), run_args["progress"])
