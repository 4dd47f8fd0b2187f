"""CLI commands for stochastic designs: ``monte-carlo``, ``lhs``, ``sobol``, ``morris``,
``extend``, and ``sensitivity`` (the indices of a finished sobol or morris sweep)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gmat_sweep_dask.cli.common import (
    UserPath,
    cluster_choice,
    cluster_options,
    finish,
    handle_errors,
    run_options,
    sweep_options,
)
from gmat_sweep_dask.cli.until import run_until_options, until_options

_PERTURB_HELP = (
    "NAME=DIST:A:B, repeatable: normal:MU:SIGMA, uniform:LO:HI, lognormal:MU:SIGMA (of log X), "
    "truncnormal:MU:SIGMA:LO:HI; a leading ~ (NAME=~normal:0:50) perturbs around the "
    "script's own value."
)


def _design_options(runs: str) -> Any:
    """--n (helped with ``runs``), --perturb, --seed and --out."""

    def decorate(command: Any) -> Any:
        for option in reversed(
            [
                click.option("--n", "n", type=click.IntRange(min=1), required=True, help=runs),
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
                    "--out", required=True, type=UserPath(path_type=Path), help="Sweep directory."
                ),
            ]
        ):
            command = option(command)
        return command

    return decorate


def _stochastic(
    kind: str,
    script: Path,
    n: int,
    perturb: tuple[str, ...],
    seed: int | None,
    out: Path,
    options: dict[str, Any],
    **design_options: Any,
) -> None:
    from gmat_sweep_dask.design import LatinHypercube, MonteCarlo, Morris, Sobol
    from gmat_sweep_dask.design.perturb_grammar import parse_perturb
    from gmat_sweep_dask.execute.sweep import Sweep

    kinds = {"mc": MonteCarlo, "lhs": LatinHypercube, "sobol": Sobol, "morris": Morris}
    design = kinds[kind](parse_perturb(perturb), n, seed, **design_options)
    run_args = cluster_choice(options)
    job = Sweep(script, design, out, **sweep_options(options))
    finish(job.run(**run_args), run_args["progress"])


@click.command(name="monte-carlo")
@click.argument("script", type=UserPath(dir_okay=False, path_type=Path))
@_design_options("Runs (the first batch, with --until).")
@until_options
@run_options
@cluster_options
@handle_errors
def monte_carlo_command(
    script: Path,
    n: int,
    perturb: tuple[str, ...],
    seed: int | None,
    out: Path,
    until: str | None,
    **options: Any,
) -> None:
    """Run N Monte Carlo runs of SCRIPT with the --perturb fields drawn.

    With --until COLUMN:HOW, --half-width W and --max-runs M the sweep then grows in
    place, --batch runs at a time, until the confidence half-width of the metric's mean
    over the ok runs is at most W or it has M runs (the same command again continues a
    stopped one). It is then the plain Monte Carlo sweep of its final size.

    \b
    Examples:
      gmat-sweep-dask monte-carlo leo.script --n 1000 \\
          --perturb 'Sat.SMA=normal:7100:50' --perturb 'Sat.INC=~uniform:-0.1:0.1' \\
          --seed 42 --out runs/mc
      gmat-sweep-dask monte-carlo leo.script --n 200 --perturb 'Sat.SMA=normal:7100:50' \\
          --seed 42 --out runs/mc-until --until 'Sat.Earth.Altitude:min' \\
          --half-width 2 --max-runs 5000 --batch 200
    """
    if not run_until_options(script, n, perturb, seed, out, until, options):
        _stochastic("mc", script, n, perturb, seed, out, options)


@click.command(name="lhs")
@click.argument("script", type=UserPath(dir_okay=False, path_type=Path))
@_design_options("Runs.")
@run_options
@cluster_options
@handle_errors
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


@click.command(name="sobol")
@click.argument("script", type=UserPath(dir_okay=False, path_type=Path))
@_design_options("Base samples (each 2D+2 runs for D fields; a power of two).")
@click.option("--no-second-order", is_flag=True, help="D+2 runs per base sample, no S2.")
@run_options
@cluster_options
@handle_errors
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
    second_order = not no_second_order
    _stochastic("sobol", script, n, perturb, seed, out, options, second_order=second_order)


@click.command(name="morris")
@click.argument("script", type=UserPath(dir_okay=False, path_type=Path))
@_design_options("Trajectories (each D+1 runs for D fields).")
@click.option(
    "--levels",
    type=click.IntRange(min=2),
    default=4,
    show_default=True,
    help="Grid values per field (even).",
)
@run_options
@cluster_options
@handle_errors
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
    _stochastic("morris", script, n, perturb, seed, out, options, levels=levels)


@click.command(name="extend")
@click.argument("sweep_dir", type=UserPath(path_type=Path))
@click.option("--n", "n", type=click.IntRange(min=1), required=True, help="Runs to add.")
@click.option("--allow-script-drift", is_flag=True, help="Run even if the script changed.")
@run_options
@cluster_options
@handle_errors
def extend_command(sweep_dir: Path, n: int, allow_script_drift: bool, **options: Any) -> None:
    """Grow the Monte Carlo sweep in SWEEP_DIR by N runs, in place.

    The first runs are untouched; the new ones are exactly those a fresh sweep of the
    larger size with the same seed would have drawn. For a sobol or morris sweep N
    counts base samples or trajectories. --keep-raw, --timeout and --isolate default
    to the ones recorded in the manifest.

    \b
    Example:
      gmat-sweep-dask extend runs/mc --n 500
    """
    from gmat_sweep_dask.execute.sweep import Sweep

    reopen = sweep_options(options)
    run_args = cluster_choice(options)
    job = Sweep.extended(sweep_dir, n, allow_script_drift=allow_script_drift, **reopen)
    finish(job.run(**run_args), run_args["progress"])


@click.command(name="sensitivity")
@click.argument("sweep_dir", type=UserPath(path_type=Path))
@click.option("--metric", required=True, metavar="COLUMN:HOW", help="e.g. Sat.Earth.Altitude:min.")
@click.option("--report", help="The ReportFile, when the script writes several.")
@click.option("--drop-failed", is_flag=True, help="Leave out blocks holding failed runs.")
@click.option("--pairs", is_flag=True, help="Sobol second-order indices, one row per pair.")
@handle_errors
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
    from gmat_sweep_dask.wording import plural

    frame = open_sweep(sweep_dir, report)
    table = sensitivity(frame, metric, drop_failed=drop_failed, pairs=pairs)
    attrs = table.attrs
    blocks = plural(attrs["dropped"], "block")
    dropped = f" ({blocks} with failed runs left out)" if attrs["dropped"] else ""
    click.echo(
        f"{attrs['method']} indices of {metric} over {plural(attrs['runs'], 'run')}{dropped}; "
        f"*_conf: {attrs['conf_level']:.0%} half-widths"
    )
    shown = table if pairs else table.reset_index()
    click.echo(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


COMMANDS = (
    monte_carlo_command,
    lhs_command,
    sobol_command,
    morris_command,
    extend_command,
    sensitivity_command,
)
