"""``gmat-sweep-dask archive DIR FILE``: one portable file holding a whole sweep."""

from __future__ import annotations

from pathlib import Path

import click

from gmat_sweep_dask.cli.common import UserPath, handle_errors


@click.command(name="archive")
@click.argument("sweep_dir", type=UserPath(path_type=Path))
@click.argument("file", type=UserPath(dir_okay=False, path_type=Path))
@handle_errors
def archive_command(sweep_dir: Path, file: Path) -> None:
    """Write SWEEP_DIR into one FILE (.zip, .tar, .tar.gz or .tgz) that reopens anywhere.

    Everything the sweep needs goes in (manifest, design files, script snapshot, data
    files), streamed file by file. Refused while a driver runs the sweep, for a FILE
    inside SWEEP_DIR and for a FILE that exists. Python's open_sweep(FILE) reads it back;
    unpacking it by hand gives the sweep directory.

    \b
    Example:
      gmat-sweep-dask archive runs/mc mc.zip
    """
    from gmat_sweep_dask.store.archive import write_archive
    from gmat_sweep_dask.wording import plural

    path, files, size = write_archive(sweep_dir, file)
    click.echo(f"archived {plural(files, 'file')} ({size / 2**20:.1f} MiB of data) — {path}")
