"""What every command of the CLI shares: exit codes, error handling, path and option types,
the cluster and run options, and the closing line of a sweep.

Commands live in :mod:`gmat_sweep_dask.cli` (run, resume, show, compact) and its
submodules; they all import from here, so no command module imports another.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gmat_sweep_dask.cli.interrupted import interrupted_lines
from gmat_sweep_dask.options import help_text
from gmat_sweep_dask.wording import INTERRUPTED_EARLY

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


class MainGroup(click.Group):
    """The command group. A usage error (unknown option, missing argument, bad value) is
    one line on stderr naming where the help is, and exit code 2."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:  # a bare group: its help, as usual
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "gmat-sweep-dask"
            message = " ".join(exc.format_message().split())
            click.echo(f"gmat-sweep-dask: error: {message} (see '{where} --help')", err=True)
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort as exc:
            if isinstance(exc.__cause__, KeyboardInterrupt):  # before handle_errors' guard
                click.echo(INTERRUPTED_EARLY, err=True)
                sys.exit(EXIT_SIGNALLED + signal.SIGINT)
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(0)


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Map library errors to one-line messages and the documented exit codes; SIGINT and
    SIGTERM stop the command the same way (at most two lines, the last how to go on)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from gmat_sweep_dask.errors import SweepDirWriteError, UsageError
        from gmat_sweep_dask.execute.interrupts import guard, on_interrupt

        on_interrupt(_quiet_teardown)
        out = kwargs.get("out") or kwargs.get("sweep_dir")
        try:
            with guard():  # first: a Ctrl-C while the rest imports is handled below
                from gmat_sweep_dask.execute.security import one_line_warnings

                with one_line_warnings():
                    return command(*args, **kwargs)
        except UsageError as exc:
            one_line = " ".join(str(exc).split())  # e.g. gmat-run's list of places searched
            if isinstance(exc, SweepDirWriteError) and out:
                again = "compact" if command_name() == "compact" else "resume"
                one_line += f"; once it is writable: gmat-sweep-dask {again} {out}"
            click.echo(f"gmat-sweep-dask: error: {one_line}", err=True)
            sys.exit(EXIT_USAGE)
        except KeyboardInterrupt as exc:
            signum = getattr(exc, "signum", signal.SIGINT)
            lines = interrupted_lines(signum, command_name(), kwargs)
            end_of_bar = "\n" if click.get_text_stream("stderr").isatty() else ""
            click.echo(end_of_bar + "\n".join(lines), err=True)
            sys.exit(EXIT_SIGNALLED + signum)

    return wrapper


def _quiet_teardown() -> None:
    """Once Ctrl-C or SIGTERM stops a command, its own lines are all it says: the cluster's
    teardown (e.g. distributed's "Error in batched write" traceback, seen under load when a
    closing stream fails) logs nothing."""
    logging.disable(logging.CRITICAL)


def command_name() -> str | None:
    context = click.get_current_context(silent=True)
    return context.info_name if context else None


def cluster_options(command: Callable[..., Any]) -> Callable[..., Any]:
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
        click.option(
            "--cores",
            type=click.IntRange(min=1),
            help="Cores (= single-threaded workers) per job (default: jobqueue's, else 1).",
        ),
        click.option("--memory", help="Memory per job, e.g. 4GB (default: jobqueue's, else 2GB)."),
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
        click.option("--insecure", is_flag=True, default=None, help=help_text("insecure")),
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


def cluster_choice(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the cluster options from a command's kwargs; return Sweep.run() arguments.

    Every ``gmat-sweep-dask.*`` setting is checked first (:func:`~gmat_sweep_dask.config.
    check`): a bad one stops the command before it starts an engine or a cluster.
    """
    from gmat_sweep_dask import config
    from gmat_sweep_dask.errors import SpecError
    from gmat_sweep_dask.execute.cluster import TLS, ClusterSpec, check_local_workers

    config.check()

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
        insecure=kwargs.pop("insecure"),
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


def start_engines(run_args: dict[str, Any], isolate: bool | None) -> None:
    """Start now the GMAT engine hosts of the LocalCluster the command will run in this
    process (see :func:`~gmat_sweep_dask.execute.cluster.starts_local`), so GMAT boots
    while the command reads its input; they stop at exit if it never runs."""
    from gmat_sweep_dask import config
    from gmat_sweep_dask.execute.cluster import local_workers, starts_local

    spec = run_args["cluster"]
    if config.get("isolate", isolate) and starts_local(None, run_args["scheduler"], spec):
        from gmat_sweep_dask.execute import isolation

        isolation.warm(local_workers(spec))


def run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--keep-raw/--no-keep-raw", default=None, help=help_text("keep-raw")),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            help=help_text("timeout"),
        ),
        click.option("--isolate/--no-isolate", default=None, help=help_text("isolate")),
        click.option(
            "--postprocess",
            metavar="MODULE:FUNCTION",
            help="Run this hook on the worker after each ok run (importable there); the "
            "scalars it returns are the sweep's metrics output, files it adds go to "
            "runs/<run_id>/. resume and extend reuse the recorded hook.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def sweep_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {name: kwargs.pop(name) for name in ("keep_raw", "timeout", "isolate", "postprocess")}


def finish(result: Any, verbose: bool) -> None:
    """Print the sweep's closing line (:meth:`SweepResult.summary`); exit 1 if runs failed."""
    click.echo(result.summary())
    if result.failed:
        sys.exit(EXIT_FAILED_RUNS)
