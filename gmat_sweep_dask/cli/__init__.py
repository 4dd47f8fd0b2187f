"""The ``gmat-sweep-dask`` command line: run, show and resume sweeps.

Exit codes: 0 every run ok; 1 some runs failed; 2 bad input (one line on stderr, nothing
on disk changed); 130 interrupted by SIGINT (Ctrl-C), 143 by SIGTERM (a batch system's
walltime or scancel): the manifest is intact and the last line says how to go on.
Heavy imports happen inside the commands so ``--help`` is fast.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gmat_sweep_dask.options import help_text

EXIT_FAILED_RUNS = 1
EXIT_USAGE = 2
EXIT_SIGNALLED = 128
"""Plus the signal number: 130 for SIGINT, 143 for SIGTERM (the shell's convention)."""


class UserPath(click.Path):
    """A ``click.Path`` that expands a leading ``~`` or ``~user`` itself (a quoted one, or
    one the shell left alone); one that cannot be expanded is a usage error."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.startswith("~"):
            try:
                value = os.fspath(Path(value).expanduser())
            except RuntimeError:  # no such user, or no home directory to expand to
                head = value.split("/", 1)[0]
                self.fail(f"{value!r}: cannot expand {head!r}: no such user or home", param, ctx)
        return super().convert(value, param, ctx)


class _Main(click.Group):
    """The command group. A usage error (unknown option, missing argument, bad value) is
    one line on stderr naming where the help is, and exit code 2."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "gmat-sweep-dask"
            message = " ".join(exc.format_message().split())
            click.echo(f"gmat-sweep-dask: error: {message} (see '{where} --help')", err=True)
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(0)


def _handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Map library errors to one-line messages and the documented exit codes; SIGINT and
    SIGTERM stop the command the same way (at most two lines, the last how to go on)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from gmat_sweep_dask.errors import SweepDirWriteError, UsageError
        from gmat_sweep_dask.execute.interrupts import guard

        out = kwargs.get("out") or kwargs.get("sweep_dir")
        try:
            with guard():
                return command(*args, **kwargs)
        except UsageError as exc:
            one_line = " ".join(str(exc).split())  # e.g. gmat-run's list of places searched
            if isinstance(exc, SweepDirWriteError) and out:
                again = "compact" if _command_name() == "compact" else "resume"
                one_line += f"; once it is writable: gmat-sweep-dask {again} {out}"
            click.echo(f"gmat-sweep-dask: error: {one_line}", err=True)
            sys.exit(EXIT_USAGE)
        except KeyboardInterrupt as exc:
            signum = getattr(exc, "signum", signal.SIGINT)
            lines = [
                f"gmat-sweep-dask: interrupted by {signal.Signals(signum).name}; "
                "the manifest is intact and finished runs are kept"
            ]
            again = {"show": None, "compact": "compact"}.get(_command_name(), "resume")
            if out and again:
                lines.append(f"{again} with: gmat-sweep-dask {again} {out}")
            end_of_bar = "\n" if click.get_text_stream("stderr").isatty() else ""
            click.echo(end_of_bar + "\n".join(lines), err=True)
            sys.exit(EXIT_SIGNALLED + signum)

    return wrapper


def _command_name() -> str | None:
    context = click.get_current_context(silent=True)
    return context.info_name if context else None


def _cluster_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--scheduler", metavar="ADDRESS", help="Join a running Dask scheduler."),
        click.option(
            "--cluster",
            "cluster_kind",
            type=click.Choice(["local", "slurm", "pbs", "sge", "lsf"]),
            default="local",
            show_default=True,
            help="Start this kind of cluster (dask-jobqueue reads ~/.config/dask/jobqueue.yaml).",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            help="Worker processes of a local cluster (default: one per core; at most 8 per "
            "core and one per 256 MiB of available memory).",
        ),
        click.option(
            "--jobs", type=click.IntRange(min=1), help="Batch jobs to submit (default 1)."
        ),
        click.option("--adapt", metavar="MIN:MAX", help="Scale between MIN and MAX jobs instead."),
        click.option("--cores", type=click.IntRange(min=1), help="Cores (= workers) per job."),
        click.option("--memory", help="Memory per job, e.g. 4GB."),
        click.option("--walltime", help="Walltime per job, e.g. 01:00:00."),
        click.option("--queue", help="Queue / partition."),
        click.option("--account", help="Account / project to charge."),
        click.option(
            "--job-extra",
            multiple=True,
            metavar="DIRECTIVE",
            help="Extra job directive, repeatable.",
        ),
        click.option(
            "--tls-ca-file",
            type=UserPath(exists=True, dir_okay=False),
            help="CA certificate of a TLS-secured --scheduler.",
        ),
        click.option(
            "--tls-cert",
            type=UserPath(exists=True, dir_okay=False),
            help="Client certificate (PEM) for TLS.",
        ),
        click.option(
            "--tls-key",
            type=UserPath(exists=True, dir_okay=False),
            help="Client private key (PEM) for TLS, if not inside --tls-cert.",
        ),
        click.option(
            "--retries",
            type=click.IntRange(min=0),
            help=help_text("retries"),
        ),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar or cluster banner."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _cluster_choice(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the cluster options from a command's kwargs; return Sweep.run() arguments."""
    from gmat_sweep_dask.errors import SpecError
    from gmat_sweep_dask.execute.cluster import TLS, ClusterSpec, check_local_workers

    adapt = kwargs.pop("adapt")
    bounds = None
    if adapt is not None:
        lo, sep, hi = adapt.partition(":")
        if not (sep and lo.isdigit() and hi.isdigit()) or int(lo) > int(hi) or int(hi) < 1:
            raise SpecError(f"--adapt {adapt!r}: expected MIN:MAX jobs, e.g. 0:10")
        bounds = (int(lo), int(hi))
    spec = ClusterSpec(
        kind=kwargs.pop("cluster_kind"),
        workers=kwargs.pop("workers"),
        jobs=kwargs.pop("jobs"),
        adapt=bounds,
        cores=kwargs.pop("cores"),
        memory=kwargs.pop("memory"),
        walltime=kwargs.pop("walltime"),
        queue=kwargs.pop("queue"),
        account=kwargs.pop("account"),
        job_extra=kwargs.pop("job_extra"),
    )
    scheduler = kwargs.pop("scheduler")
    if spec.kind == "local" and spec.workers is not None and scheduler is None:
        check_local_workers(spec.workers)
    ca, cert, key = kwargs.pop("tls_ca_file"), kwargs.pop("tls_cert"), kwargs.pop("tls_key")
    tls = None
    if ca or cert or key:
        if not (ca and cert):
            raise SpecError(
                "TLS needs both --tls-ca-file and --tls-cert (and --tls-key if separate)"
            )
        tls = TLS(ca, cert, key)
    quiet = kwargs.pop("quiet")
    return {
        "scheduler": scheduler,
        "cluster": spec,
        "tls": tls,
        "progress": not quiet,
        "retries": kwargs.pop("retries"),
    }


def _run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--keep-raw", is_flag=True, default=None, help=help_text("keep-raw")),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            help=help_text("timeout"),
        ),
        click.option(
            "--no-isolate",
            "isolate",
            flag_value=False,
            default=None,
            help=help_text("isolate", "Sets isolate false. "),
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _sweep_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {name: kwargs.pop(name) for name in ("keep_raw", "timeout", "isolate")}


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
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
@_run_options
@_cluster_options
@_handle_errors
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
    from gmat_sweep_dask.api import make_design
    from gmat_sweep_dask.design.grid_grammar import parse_axes
    from gmat_sweep_dask.design.samples import read_table
    from gmat_sweep_dask.errors import SpecError
    from gmat_sweep_dask.execute.sweep import Sweep

    if samples is not None and grid_tokens:
        raise SpecError("give either --grid or --samples, not both")
    table = read_table(samples) if samples is not None else None
    axes = parse_axes(grid_tokens) if grid_tokens else None
    if axes is None and table is None:
        raise SpecError("give at least one --grid NAME=SPEC, or --samples FILE")
    run_args = _cluster_choice(options)
    job = Sweep(script, make_design(grid=axes, samples=table), out, **_sweep_options(options))
    _finish(job.run(**run_args), run_args["progress"])


@main.command()
@click.argument("sweep_dir", type=UserPath(path_type=Path))
@click.option(
    "--script",
    type=UserPath(dir_okay=False, path_type=Path),
    help="Run this copy of the script instead of the recorded path.",
)
@click.option("--allow-script-drift", is_flag=True, help="Run even if the script changed.")
@_run_options
@_cluster_options
@_handle_errors
def resume(sweep_dir: Path, script: Path | None, allow_script_drift: bool, **options: Any) -> None:
    """Run the runs of SWEEP_DIR that are failed or were never recorded.

    The design, script path, --keep-raw, --timeout and --no-isolate are read from
    SWEEP_DIR's manifest (options given here override them); the script's SHA-256 must
    match the recorded one unless --allow-script-drift is given.

    \b
    Examples:
      gmat-sweep-dask resume runs/sma
      gmat-sweep-dask resume runs/sma --timeout 600 --cluster slurm --jobs 4 --cores 8
    """
    from gmat_sweep_dask.execute.sweep import Sweep

    run_args = _cluster_choice(options)
    job = Sweep.from_manifest(
        sweep_dir, script=script, allow_script_drift=allow_script_drift, **_sweep_options(options)
    )
    _finish(job.run(**run_args), run_args["progress"])


@main.command()
@click.argument("sweep_dir", type=UserPath(path_type=Path))
@click.option("--failed", is_flag=True, help="List failed runs with their error summaries.")
@_handle_errors
def show(sweep_dir: Path, failed: bool) -> None:
    """Summarise SWEEP_DIR: runs per status, wall time, outputs (works while running).

    \b
    Examples:
      gmat-sweep-dask show runs/sma
      gmat-sweep-dask show runs/sma --failed
    """
    from gmat_sweep_dask.cli.overview import describe, failed_runs

    click.echo(describe(sweep_dir))
    if failed:
        click.echo(failed_runs(sweep_dir))


@main.command(name="compact")
@click.argument("sweep_dir", type=UserPath(path_type=Path))
@_handle_errors
def compact_command(sweep_dir: Path) -> None:
    """Merge SWEEP_DIR's small batch files into few large sorted Parquet files.

    Sweeps compact themselves when they end; use this for sweeps written with
    compaction off or interrupted before their end. Safe to interrupt and re-run.

    \b
    Example:
      gmat-sweep-dask compact runs/sma
    """
    from gmat_sweep_dask.store.compact import compact_dir

    report = compact_dir(sweep_dir)
    click.echo(
        f"merged {report.merged_files} files into {report.written_files}; "
        f"removed {report.removed_orphans} orphaned files"
    )


def _finish(result: Any, verbose: bool) -> None:
    counts = ", ".join(f"{v} {k}" for k, v in sorted(result.counts.items()))
    total = sum(result.counts.values())
    if not (result.executed or result.reconciled or result.failed):
        click.echo(f"nothing to run: all {total} runs are ok — output: {result.out}")
        return
    engine = " (GMAT stand-in engine)" if result.gmat.get("standin") else ""
    click.echo(
        f"{total} runs: {counts}; ran {result.executed} in {result.wall_s:.1f} s{engine} "
        f"— output: {result.out}"
    )
    if result.failed:
        sys.exit(EXIT_FAILED_RUNS)


def _register_stochastic() -> None:
    from gmat_sweep_dask.cli.stochastic import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_register_stochastic()
