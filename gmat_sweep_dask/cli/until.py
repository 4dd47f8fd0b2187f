"""``monte-carlo --until``: the flags of a Monte Carlo sweep grown until it converged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gmat_sweep_dask.cli.common import cluster_choice, finish, sweep_options

RULE = ("half_width", "max_runs", "batch", "confidence")


def until_options(command: Any) -> Any:
    """--until, --half-width, --max-runs, --batch and --confidence."""
    for option in reversed(
        [
            click.option(
                "--until",
                metavar="COLUMN:HOW",
                help="Then add runs until the mean of this per-run metric is known to "
                "--half-width.",
            ),
            click.option("--half-width", type=float, help="With --until: the half-width wanted."),
            click.option("--max-runs", type=int, help="With --until: the run budget."),
            click.option("--batch", type=int, help="With --until: runs added at a time (N)."),
            click.option("--confidence", type=float, help="With --until: level (0.95)."),
        ]
    ):
        command = option(command)
    return command


def run_until_options(
    script: Path,
    n: int,
    perturb: tuple[str, ...],
    seed: int | None,
    out: Path,
    metric: str | None,
    options: dict[str, Any],
) -> bool:
    """Run the sweep until its rule holds if ``--until`` was given (True); pop the rule's
    flags from ``options`` either way (False: a plain sweep is the caller's).

    Raises:
        SpecError: a rule flag without --until, --until without --half-width or
            --max-runs, or a value out of range (named).
    """
    from gmat_sweep_dask.errors import SpecError

    rule = {k: options.pop(k) for k in RULE}
    if metric is None:
        given = [k for k, v in rule.items() if v is not None]
        if given:
            raise SpecError(f"--{given[0].replace('_', '-')} needs --until")
        return False
    for needed in ("half_width", "max_runs"):
        if rule[needed] is None:
            raise SpecError(f"--until needs --{needed.replace('_', '-')}")
    from gmat_sweep_dask.analysis.until import Converged
    from gmat_sweep_dask.design import MonteCarlo
    from gmat_sweep_dask.design.perturb_grammar import parse_perturb
    from gmat_sweep_dask.execute.until import run_until

    converged = Converged(metric, **{k: v for k, v in rule.items() if v is not None})
    design = MonteCarlo(parse_perturb(perturb), n, seed)
    run_args = cluster_choice(options)
    _, result, _ = run_until(
        script, design, out, converged, sweep_options=sweep_options(options), run_args=run_args
    )
    finish(result, run_args["progress"])
    return True
