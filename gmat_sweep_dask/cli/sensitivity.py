"""CLI commands for sensitivity studies: ``sobol`` and ``morris`` designs, ``sensitivity``
indices of a finished one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gmat_sweep_dask.cli import (
    _cluster_choice,
    _cluster_options,
    _finish,
    _handle_errors,
    _run_options,
    _sweep_options,
)
from gmat_sweep_dask.cli.stochastic import _PERTURB_HELP


def _design_options(what: str) -> Any:
    def decorate(command: Any) -> Any:
        for option in reversed(
            [
                click.option("--n", "n", type=click.IntRange(min=1), required=True, help=what),
                click.option(
                    "--perturb",
                    multiple=True,
                    required=True,
                    metavar="NAME=DIST",
                    help=_PERTURB_HELP,
                ),
                click.option(
                    "--seed",
                    type=click.IntRange(min=0),
                    help="Seed (default: generated and recorded in the manifest).",
                ),
                click.option(
                    "--out", required=True, type=click.Path(path_type=Path), help="Sweep directory."
                ),
            ]
        ):
            command = option(command)
        return command

    return decorate


def _run(design: Any, script: Path, out: Path, options: dict[str, Any]) -> None:
    from gmat_sweep_dask.execute.sweep import Sweep

    run_args = _cluster_choice(options)
    job = Sweep(script, design, out, **_sweep_options(options))
    _finish(job.run(**run_args), run_args["progress"])


@click.command(name="sobol")
@click.argument("script", type=click.Path(dir_okay=False, path_type=Path))
@_design_options("Base samples (each 2D+2 runs for D fields; a power of two).")
@click.option("--no-second-order", is_flag=True, help="D+2 runs per base sample, no S2.")
@_run_options
@_cluster_options
@_handle_errors
def sobol_command(
    script: Path,
    n: int,
    perturb: tuple[str, ...],
    seed: int | None,
    out: Path,
    no_second_order: bool,
    **options: Any,
) -> None:
    """Run a Sobol sensitivity design of SCRIPT: N base samples of Saltelli's scheme.

    Extend it with `extend SWEEP_DIR --n MORE` (more base samples); analyse it with
    `sensitivity SWEEP_DIR --metric COLUMN:HOW`.

    \b
    Example:
      gmat-sweep-dask sobol leo.script --n 256 --perturb 'Sat.SMA=uniform:6950:7050' \\
          --perturb 'Sat.ECC=uniform:0.0005:0.0015' --seed 7 --out runs/sobol
    """
    from gmat_sweep_dask.design import Sobol
    from gmat_sweep_dask.design.perturb_grammar import parse_perturb

    design = Sobol(parse_perturb(perturb), n, seed, second_order=not no_second_order)
    _run(design, script, out, options)


@click.command(name="morris")
@click.argument("script", type=click.Path(dir_okay=False, path_type=Path))
@_design_options("Trajectories (each D+1 runs for D fields).")
@click.option(
    "--levels",
    type=click.IntRange(min=2),
    default=4,
    show_default=True,
    help="Grid values per field (even).",
)
@_run_options
@_cluster_options
@_handle_errors
def morris_command(
    script: Path,
    n: int,
    perturb: tuple[str, ...],
    seed: int | None,
    out: Path,
    levels: int,
    **options: Any,
) -> None:
    """Run a Morris screening design of SCRIPT: N one-at-a-time trajectories.

    \b
    Example:
      gmat-sweep-dask morris leo.script --n 20 --perturb 'Sat.SMA=uniform:6950:7050' \\
          --perturb 'Sat.INC=~normal:0:0.5' --seed 7 --out runs/morris
    """
    from gmat_sweep_dask.design import Morris
    from gmat_sweep_dask.design.perturb_grammar import parse_perturb

    _run(Morris(parse_perturb(perturb), n, seed, levels=levels), script, out, options)


@click.command(name="sensitivity")
@click.argument("sweep_dir", type=click.Path(path_type=Path))
@click.option("--metric", required=True, metavar="COLUMN:HOW", help="e.g. Sat.Earth.Altitude:min.")
@click.option("--report", help="The ReportFile, when the script writes several.")
@click.option("--drop-failed", is_flag=True, help="Leave out blocks holding failed runs.")
@click.option("--pairs", is_flag=True, help="Sobol second-order indices, one row per pair.")
@_handle_errors
def sensitivity_command(
    sweep_dir: Path, metric: str, report: str | None, drop_failed: bool, pairs: bool
) -> None:
    """Print the Sobol or Morris indices of a per-run metric of SWEEP_DIR, ranked.

    \b
    Example:
      gmat-sweep-dask sensitivity runs/sobol --metric 'Sat.Earth.Altitude:min'
    """
    from gmat_sweep_dask.analysis.frames import open_sweep
    from gmat_sweep_dask.analysis.sensitivity import sensitivity

    table = sensitivity(open_sweep(sweep_dir, report), metric, drop_failed=drop_failed, pairs=pairs)
    attrs = table.attrs
    click.echo(
        f"{attrs['method']} indices of {metric} over {attrs['runs']} runs"
        + (f" ({attrs['dropped']} blocks with failed runs left out)" if attrs["dropped"] else "")
        + f"; *_conf: {attrs['conf_level']:.0%} half-widths"
    )
    shown = table if pairs else table.reset_index()
    click.echo(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
