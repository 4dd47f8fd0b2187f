"""``gmat-sweep-dask verify DIR``: check every file the sweep's frames need.

Exit codes: 0 nothing damaged; 1 damage found (one line per damaged file, then a
summary naming the runs and the command that runs them again); 2 bad input (no sweep
there, an unreadable manifest).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gmat_sweep_dask.cli.common import UserPath, handle_errors

EXIT_DAMAGED = 1


@click.command(name="verify")
@click.argument("sweep_dir", type=UserPath(path_type=Path))
@handle_errors
def verify_command(sweep_dir: Path) -> None:
    """Check SWEEP_DIR's data files: present, inside it, every page's checksum, row counts.

    Reads every data file an ok run points at in full and changes nothing. Damaged
    files are listed with the runs they cost; `gmat-sweep-dask resume SWEEP_DIR` runs
    those runs again.

    \b
    Example:
      gmat-sweep-dask verify runs/sma
    """
    from gmat_sweep_dask.store.verify import ranges, verify
    from gmat_sweep_dask.wording import plural

    report = verify(sweep_dir)
    if report.ok:
        click.echo(
            f"{report.files} data files of {report.runs} ok runs verified: no damage — {report.out}"
        )
        return
    design = [report.design] if report.design else []
    for damage in [*report.damaged, *design, *report.script]:
        click.echo(f"damaged: {damage.describe()}")
    runs = report.run_ids
    if report.damaged or not (design or report.script):
        again = f"; `gmat-sweep-dask resume {sweep_dir}` runs them again" if runs else ""
        click.echo(
            f"{len({d.path for d in report.damaged})} of {report.files} data files damaged, "
            f"{plural(len(runs), 'run')} affected"
            + (f": runs {ranges(runs)}" if runs else "")
            + again
        )
    if report.design is not None:
        intact = "" if report.damaged else f"; the {report.files} data files are intact"
        click.echo(
            f"{report.design.path} holds every run's parameters: no frame opens and no run "
            f"can run again until it is restored from a copy of the sweep directory{intact}"
        )
    if report.script:
        click.echo(
            "the script snapshot is what the runs still to run would run: nothing more runs "
            "until it is restored from a copy of the sweep directory (recorded runs are "
            "not affected)"
        )
    sys.exit(EXIT_DAMAGED)
