"""The ``gmat-sweep-dask`` command line: run, show, resume, compact and verify sweeps.

Exit codes: 0 every run ok; 1 some runs failed; 2 bad input (one line on stderr, nothing
on disk changed); 130 interrupted by SIGINT (Ctrl-C), 143 by SIGTERM (a batch system's
walltime or scancel): the manifest is intact and the last line says how to go on.
Heavy imports happen inside the commands so ``--help`` is fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gmat_sweep_dask.cli.common import (
    MainGroup,
    UserPath,
    cluster_choice,
    cluster_options,
    finish,
    handle_errors,
    run_options,
    start_engines,
    sweep_options,
)


@click.group(cls=MainGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gmat-sweep-dask")
def main() -> None:
    """Run GMAT parameter sweeps as Dask graphs, record them durably, analyse them lazily."""


@main.command()
@click.argument("script", type=UserPath(dir_okay=False, path_type=Path))
@click.option(
    "--grid",
    "grid_tokens",
    multiple=True,
    metavar="NAME=SPEC",
    help="A grid axis, repeatable (full factorial): NAME=LO:HI:COUNT, NAME=V1,V2,... "
    "(quote values holding ':' or ',': NAME='01 Jan 2026 00:00:00.000'), or NAME=[JSON list].",
)
@click.option(
    "--samples",
    type=UserPath(exists=True, dir_okay=False, path_type=Path),
    help="A .csv or .parquet table: one row per run, one column per field.",
)
@click.option("--out", required=True, type=UserPath(path_type=Path), help="Sweep directory.")
@run_options
@cluster_options
@handle_errors
def run(
    script: Path,
    grid_tokens: tuple[str, ...],
    samples: Path | None,
    out: Path,
    **options: Any,
) -> None:
    """Run SCRIPT once per point of the parameter space into --out.

    \b
    Examples:
      gmat-sweep-dask run leo.script --grid 'Sat.SMA=7000:8000:20' \\
          --grid 'Sat.ECC=0.001,0.01' --out runs/sma
      gmat-sweep-dask run leo.script --samples table.csv --out runs/table
    """
    from gmat_sweep_dask.errors import SpecError

    if samples is not None and grid_tokens:
        raise SpecError("give either --grid or --samples, not both")
    if not grid_tokens and samples is None:
        raise SpecError("give at least one --grid NAME=SPEC, or --samples FILE")
    run_args = cluster_choice(options)
    start_engines(run_args, options["isolate"])  # GMAT boots while we import and read

    from gmat_sweep_dask.design import make_design
    from gmat_sweep_dask.design.grid_grammar import parse_axes
    from gmat_sweep_dask.design.samples import read_table
    from gmat_sweep_dask.execute.sweep import Sweep

    table = read_table(samples) if samples is not None else None
    axes = parse_axes(grid_tokens) if grid_tokens else None
    job = Sweep(script, make_design(grid=axes, samples=table), out, **sweep_options(options))
    finish(job.run(**run_args), run_args["progress"])


@main.command()
@click.argument("sweep_dir", type=UserPath(path_type=Path))
@click.option(
    "--script",
    type=UserPath(dir_okay=False, path_type=Path),
    help="Run this copy of the script instead of the recorded path.",
)
@click.option("--allow-script-drift", is_flag=True, help="Run even if the script changed.")
@run_options
@cluster_options
@handle_errors
def resume(sweep_dir: Path, script: Path | None, allow_script_drift: bool, **options: Any) -> None:
    """Run the runs of SWEEP_DIR that are failed or were never recorded.

    The design, script path, --keep-raw, --timeout and --isolate are read from
    SWEEP_DIR's manifest (options given here override them for this resume, which the
    manifest records); the script's SHA-256 must match the recorded one unless
    --allow-script-drift is given.

    \b
    Examples:
      gmat-sweep-dask resume runs/sma
      gmat-sweep-dask resume runs/sma --timeout 600 --cluster slurm --jobs 4 --cores 8
    """
    from gmat_sweep_dask.execute.sweep import Sweep

    run_args = cluster_choice(options)
    job = Sweep.from_manifest(
        sweep_dir, script=script, allow_script_drift=allow_script_drift, **sweep_options(options)
    )
    finish(job.run(**run_args), run_args["progress"])


@main.command()
@click.argument("sweep_dir", type=UserPath(path_type=Path))
@click.option(
    "--failed",
    is_flag=True,
    help="Also a table of the failed runs: overrides, the reason with GMAT's own error "
    "line, and GMAT's log when raw outputs were kept.",
)
@click.option(
    "--run",
    "run_id",
    type=click.IntRange(min=0),
    metavar="N",
    help="Only run N, in full: overrides, status, timing, attempts, worker, outputs "
    "with row counts, error and GMAT's log tail.",
)
@click.option(
    "--where",
    metavar="EXPR",
    help="Also the runs for which EXPR holds, e.g. 'Sat.SMA > 7100 and status == \"failed\"' "
    "(pandas query syntax over each swept field, run_id, status, duration_s, attempts, "
    "worker, error).",
)
@handle_errors
def show(sweep_dir: Path, failed: bool, run_id: int | None, where: str | None) -> None:
    """Summarise SWEEP_DIR: runs per status, wall time, outputs (works while running).

    \b
    Examples:
      gmat-sweep-dask show runs/sma
      gmat-sweep-dask show runs/sma --failed
      gmat-sweep-dask show runs/sma --run 7
      gmat-sweep-dask show runs/sma --where 'Sat.SMA > 7100 and status == "failed"'
    """
    from gmat_sweep_dask.cli.overview import describe, failed_runs
    from gmat_sweep_dask.cli.runs import matching_runs, one_run
    from gmat_sweep_dask.errors import SpecError

    if run_id is not None:
        if failed or where:
            raise SpecError("--run N shows one run: give it without --failed or --where")
        click.echo(one_run(sweep_dir, run_id))
        return
    matching = matching_runs(sweep_dir, where) if where is not None else None  # may refuse
    click.echo(describe(sweep_dir))
    if failed:
        click.echo("\n" + failed_runs(sweep_dir))
    if matching is not None:
        click.echo("\n" + matching)


@main.command(name="compact")
@click.argument("sweep_dir", type=UserPath(path_type=Path))
@handle_errors
def compact_command(sweep_dir: Path) -> None:
    """Merge SWEEP_DIR's small batch files into few large sorted Parquet files.

    Sweeps compact themselves when they end; use this for sweeps written with
    compaction off or interrupted before their end. Safe to interrupt and re-run.

    \b
    Example:
      gmat-sweep-dask compact runs/sma
    """
    from gmat_sweep_dask.store.compact import compact_dir
    from gmat_sweep_dask.wording import plural

    report = compact_dir(sweep_dir)
    click.echo(
        f"merged {plural(report.merged_files, 'file')} into {report.written_files}; "
        f"removed {plural(report.removed_orphans, 'orphaned file')}"
    )


def _register_others() -> None:
    from gmat_sweep_dask.cli.archive import archive_command
    from gmat_sweep_dask.cli.check import check_command
    from gmat_sweep_dask.cli.stochastic import COMMANDS
    from gmat_sweep_dask.cli.verify import verify_command

    for command in (check_command, verify_command, archive_command, *COMMANDS):
        main.add_command(command)


_register_others()
